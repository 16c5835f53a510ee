# Kata-kata bersama: tanggal, paket, label uang, tombol yang dipakai di banyak layar.
# Setiap pesan di sini punya nama dan $variabel yang sama dengan locales/en-US/common.ftl.

month-1 = Jan
month-2 = Feb
month-3 = Mar
month-4 = Apr
month-5 = Mei
month-6 = Jun
month-7 = Jul
month-8 = Agu
month-9 = Sep
month-10 = Okt
month-11 = Nov
month-12 = Des
# 2 Des 2026 17.30 WIB
datetime = { $day } { $month } { $year } { $hour }.{ $minute } WIB
time-of-day = { $hour }.{ $minute } WIB

# Bahasa Indonesia tidak mengenal bentuk jamak: "1 kode", "5 kode".
package-name = { $count } kode
amount-label = { $amount }

button-confirm = Konfirmasi
button-cancel = Batal
button-check-status = Cek status
button-previous = Sebelumnya
button-next = Berikutnya

error-title = Maaf
nothing-charged = Saldo kamu tidak terpotong.

field-price = Harga
field-your-balance = Saldo kamu
field-balance-after = Saldo setelahnya
field-balance-now = Saldo sekarang
field-short-by = Kurang
field-paid = Dibayar
field-amount = Nominal
field-expires = Berlaku sampai
field-mode = Mode
field-topped-up = Total isi saldo
field-spent = Total belanja
field-reason = Alasan
# 2,5% (tingkat kode rusak)
percent = { $whole },{ $tenth }%
