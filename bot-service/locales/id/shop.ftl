# Yang dibaca pembeli: menu, pembelian, isi saldo, saldo dan riwayat.

menu-title = Redfinger Shop
menu-description = Beli kode redeem Redfinger pakai saldo. Isi saldo lewat QRIS, lalu pilih paket — kodenya langsung dikirim ke DM kamu dalam hitungan detik.
menu-footer = Pakai tombol di bawah; balasan hanya terlihat oleh kamu.
menu-order = Beli Kode
menu-topup = Isi Saldo
menu-balance = Saldo
menu-history = Riwayat
menu-help = Bantuan

help-title = Cara belanja
help-topup-name = 1. Isi saldo
help-topup = Pilih nominal, lalu scan kode QRIS dengan e-wallet atau m-banking apa saja. Saldo masuk otomatis begitu pembayaran berhasil.
help-order-name = 2. Beli
help-order = Pilih paket, cek harganya, lalu konfirmasi. Harga dipotong dari saldo kamu.
help-receive-name = 3. Terima kode
help-receive = Kode dikirim lewat DM (berupa file .txt kalau lebih dari 10 kode). Kalau DM kamu tertutup, kode dikirim secara privat di server ini.
help-commands-name = Perintah
help-commands = `/toko` `/saldo` `/isisaldo` `/riwayat`

foreign-click = Tombol ini milik orang lain. Ketik `/toko` untuk membuka menu kamu sendiri.
stale-click = Menu ini dari versi bot yang lama dan sudah tidak berfungsi. Ketik `/toko` untuk membuka menu baru.
unknown-button = Tombol ini tidak dikenali. Ketik `/toko` untuk membuka menu baru.

err-insufficient-balance = Saldo tidak cukup: harganya { $price }, saldo kamu { $balance }; isi saldo minimal { $shortfall }.
err-out-of-stock = Stok kode tidak cukup: kamu minta { $requested }, tersedia { $available }.
err-unknown-package = Tidak ada paket { $codes } kode.
err-invalid-amount = Nominal harus antara { $min } dan { $max }.
err-daily-limit = Kamu sudah mencapai batas { $limit } pesanan hari ini.
err-cooldown = Tunggu { $seconds } detik sebelum memesan lagi.
err-forbidden = Permintaan ini tidak diizinkan. Hubungi admin kalau butuh bantuan.
err-not-found = Data yang dicari tidak ditemukan.
err-invalid-input = Permintaan ini tidak bisa diterima.
err-provider = Penyedia pembayaran sedang tidak merespons; coba lagi nanti.
err-internal = Terjadi kesalahan di sistem kami; silakan coba lagi.
err-timeout = Toko sedang lambat merespons. Coba lagi dalam satu menit.
err-unavailable = Toko sedang tidak bisa diakses. Coba lagi dalam satu menit.

package-option = { $package } — { $price }
package-in-stock = Stok tersedia
package-out-of-stock = Stok habis
nothing-on-sale-title = Belum ada yang dijual
nothing-on-sale = Saat ini belum ada paket yang dijual. Coba lagi nanti, ya.
picker-title = Beli Kode
picker-description = Pilih paket. Saat ini tersedia { $available } kode.
picker-placeholder = Pilih paket
pick-a-package = Silakan pilih salah satu paket.

out-of-stock-title = Stok habis
out-of-stock = Stok untuk paket { $package } sedang tidak cukup. Admin sudah diberi tahu; coba paket yang lebih kecil atau kembali lagi nanti.
confirm-title = Konfirmasi pesanan
short-title = Saldo tidak cukup
short-description = Isi saldo minimal **{ $shortfall }** untuk membeli paket ini.
placing-title = Pesanan sedang diproses…
placing = { $package }: tunggu sebentar.
order-cancelled-title = Pesanan dibatalkan
order-placed-title = Pesanan berhasil
order-placed = Pesanan **{ $order }**: { $package }. Kode sedang dikirim ke DM kamu.
order-out-of-stock = { $reason } Saldo kamu tidak terpotong; admin sudah diberi tahu.
order-refunded-title = Dana pesanan dikembalikan
order-refunded = Pesanan `{ $order }` dibatalkan dan dananya dikembalikan: { $amount } sudah masuk lagi ke saldo kamu.

topup-title = Isi Saldo
topup-picker = Pilih nominal (dari { $min } sampai { $max }). Bayar pakai QRIS dari e-wallet atau m-banking apa saja.
topup-other-amount = Nominal lain
topup-modal-title = Isi Saldo
topup-modal-label = Nominal (rupiah)
topup-creating-title = QR sedang dibuat…
topup-creating = Isi saldo { $amount }.
topup-footer = Isi saldo { $order }
qr-title = Scan untuk bayar
qr-description = Scan kode QRIS ini dengan e-wallet atau m-banking apa saja. Saldo masuk otomatis dan kamu akan dapat DM.
sandbox-label = PEMBAYARAN UJI COBA (sandbox)
qr-sandbox-title = PEMBAYARAN UJI COBA (sandbox): scan untuk bayar
qr-sandbox = Toko ini berjalan dalam mode **sandbox** Midtrans: QR ini hanya uji coba. Tidak ada uang sungguhan yang ditarik, dan aplikasi e-wallet atau bank sungguhan tidak bisa membayarnya.
qr-on-its-way-title = QR kamu sedang disiapkan
qr-on-its-way = Penyedia pembayaran masih membuat kode QRIS untuk isi saldo { $amount }. Tekan **Cek status** sebentar lagi untuk melihatnya. Tidak ada yang ditagih sebelum kamu membayar.
qr-draw-failed = Kode QR pembayaran gagal dibuat. Silakan coba lagi.
qr-buttons-failed = Isi saldo sudah dibuat, tapi tombolnya gagal ditampilkan; pantau lewat /riwayat.
topup-paid-title = Isi saldo berhasil
topup-added = { $amount } sudah masuk ke saldo kamu.
topup-not-paid-title = Isi saldo belum dibayar
topup-not-paid = Isi saldo { $amount } ini { $state }. Tidak ada yang ditagih; buat yang baru dengan `/isisaldo`.
topup-waiting-title = Menunggu pembayaran
topup-waiting = { $amount } belum dibayar.
topup-waiting-until = { $amount } belum dibayar. Kode QR berlaku sampai { $expires }.
topup-received-title = Saldo masuk
topup-not-completed-title = Isi saldo tidak selesai
topup-not-completed = Isi saldo { $amount } kamu { $state }. Tidak ada yang ditagih.
topup-word-expired = sudah kedaluwarsa
topup-word-cancelled = dibatalkan
topup-word-declined = ditolak
topup-word-closed = ditutup
topup-state-pending = menunggu
topup-state-paid = lunas
topup-state-not-paid = tidak dibayar

balance-title = Saldo kamu
history-title = Riwayat kamu
history-orders = Pesanan
history-topups = Isi saldo
history-no-orders = Belum ada pesanan.
history-no-topups = Belum pernah isi saldo.

order-status-pending = menunggu
order-status-delivering = sedang dikirim
order-status-completed = selesai
order-status-failed = gagal
order-status-refunded = dana dikembalikan
menu-build-failed = Menu ini gagal ditampilkan.

amount-not-a-number = Masukkan nominal rupiah tanpa desimal, misalnya 50000 atau 50.000.
amount-has-sen = Isi saldo tidak memakai sen: masukkan nominal bulat, misalnya 50.000 (bukan { $text }).
amount-not-positive = Nominal harus lebih dari nol.
amount-below-min = Isi saldo minimal { $min }.
amount-above-max = Isi saldo maksimal { $max }.
topup-modal-range = { $min } – { $max }
package-gone = Paket itu sudah tidak dijual lagi.
order-outcome-unknown = { $reason } Kalau saldo kamu sudah terpotong, pesanan tetap diproses dan kodenya dikirim lewat DM.
order-result-unshown = Hasilnya gagal ditampilkan; cek `/riwayat`.

codes-title = Kode Redfinger kamu — { $order }
codes-summary = Pesanan **{ $order }**: { $package } seharga { $price }.
codes-footer = Jaga kerahasiaan kode ini. Setiap kode hanya bisa dipakai sekali. Ada kode yang tidak bisa dipakai? Tekan Laporkan masalah dan sebutkan nomornya, dihitung dari atas (kode pertama = 1).
codes-replacement-title = Kode pengganti — { $order }
codes-replacement-summary = Kode ini menggantikan kode { $positions } dari pesanan **{ $order }**, sesuai urutan.
codes-replacement-footer = Jaga kerahasiaan kode ini. Setiap kode hanya bisa dipakai sekali. Kalau kode penggantinya juga bermasalah, tulis di thread laporan kamu.
codes-in-file = { $count } kode kamu ada di file terlampir, satu kode per baris.
codes-thread-name = kode { $order }
codes-thread-greeting = { $user } DM kamu tertutup, jadi kodenya dikirim di sini, di thread privat yang hanya bisa dilihat kamu dan admin.
codes-dms-closed = DM kamu tertutup, jadi kodenya ditampilkan di sini — hanya kamu yang bisa melihat pesan ini.
err-command-failed = Terjadi kesalahan. Coba lagi dalam satu menit.

# Laporan: pembeli melaporkan kode yang bermasalah dari sebuah pengiriman.
button-report = Laporkan masalah
report-reasons-title = Laporkan masalah — { $order }
report-reasons = Ada masalah apa dengan kode dari pesanan `{ $order }`? Pilih salah satu, lalu sebutkan kode yang mana.
report-reason-used = Sudah terpakai
report-reason-invalid = Tidak valid
report-reason-other = Lainnya…
report-modal-title = Laporkan pesanan { $order }
report-positions-label = Kode nomor berapa?
report-positions-placeholder = Dihitung dari atas di pesan kode, misalnya 2, 4 — atau semua
report-note-label = Apa yang terjadi?
report-note-placeholder = Ada tambahan? (opsional)
report-note-placeholder-required = Ceritakan masalahnya (wajib diisi)
report-positions-empty = Tulis nomor kodenya sesuai urutan di pesan kode, misalnya 2, 4 — atau semua.
report-positions-not-a-number = "{ $text }" bukan nomor kode. Tulis nomor sesuai urutan di pesan kode, misalnya 2, 4 — atau semua.
report-positions-out-of-range = Tidak ada kode #{ $position }: tulis nomor 1 sampai { $max }, sesuai urutan di pesan kode.
report-note-required = Kamu memilih Lainnya: tolong jelaskan masalahnya di catatan.
report-note-too-long = Catatan maksimal { $max } karakter.
report-cooldown = Kamu sudah mengirim beberapa laporan barusan. Tunggu { $minutes } menit sebelum mengirim laporan berikutnya.
report-sent-title = Laporan terkirim
report-sent = Laporan #{ $id } untuk pesanan `{ $order }` sudah dibuat. Pantau di { $thread }: admin akan membalas kamu di sana.
report-sent-no-thread = Laporan #{ $id } untuk pesanan `{ $order }` sudah tercatat, tapi thread bantuannya gagal dibuat. Silakan hubungi admin dan sebutkan laporan #{ $id }.
field-codes-reported = Kode yang dilaporkan
report-updated-replaced-title = Kode sudah diganti
report-updated-replaced = Kode { $positions } dari pesanan `{ $order }` sudah diganti. Kode penggantinya dikirim lewat pesan terpisah.
report-updated-refunded-title = Dana kode dikembalikan
report-updated-refunded = { $amount } untuk kode { $positions } dari pesanan `{ $order }` sudah masuk lagi ke saldo kamu.
report-updated-rejected-title = Laporan ditolak
report-updated-rejected = Laporan kamu untuk kode { $positions } dari pesanan `{ $order }` ditolak.

# Penolakan yang dijelaskan payment-service (shared_proto::Refusal).
refusal-order-not-found = Kamu tidak punya pesanan { $order }.
refusal-order-not-delivered = Pesanan { $order } belum terkirim: hanya pesanan yang sudah terkirim yang bisa dilaporkan.
refusal-report-already-open = Pesanan { $order } sudah punya laporan yang masih terbuka; admin sedang menanganinya.
refusal-code-already-settled = Kode { $position } dari pesanan { $order } sudah diganti atau di-refund.
refusal-no-such-code = Pesanan ini berisi kode 1 sampai { $quantity }; tidak ada kode { $position }.
refusal-report-note-required = Kamu memilih Lainnya: tolong jelaskan masalah kodenya.
refusal-balance-owed = Masih ada { $amount } dari isi saldo yang di-refund atau di-chargeback yang belum lunas. Admin harus menyelesaikannya dulu sebelum kamu bisa memesan.
refusal-topup-not-found = Kamu tidak punya isi saldo { $order }.
order-status-partially-refunded = { $status }, sebagian dana dikembalikan ({ $amount })

# Katalog: beberapa produk, harga yang berubah.
refusal-price-changed = Harga { $package } untuk { $product } berubah dari { $confirmed } menjadi { $price }. Tidak ada yang ditagih.
refusal-product-not-found = Produk #{ $id } tidak ada di toko (atau sudah tidak dijual).
refusal-product-inactive = { $product } sedang tidak dijual.
refusal-package-not-on-sale = { $package } untuk { $product } sedang tidak dijual.
refusal-reveal-window-passed = Kode pesanan { $order } hanya bisa ditampilkan lagi dalam { $days } hari setelah pembelian. Buat laporan jika butuh bantuan.
product-unnamed = Kode Redfinger
product-option = { $available } tersedia · mulai { $price }
product-option-no-price = { $available } tersedia
product-picker-description = Pilih produk; paket dan harganya ditampilkan berikutnya.
product-picker-placeholder = Pilih produk
pick-a-product = Silakan pilih salah satu produk.
product-gone = Produk itu sudah tidak dijual. Gunakan `/shop` untuk melihat yang tersedia.
picker-product-title = Pesan { $product }
picker-product-description = Pilih paket. Saat ini tersedia { $available } kode.
field-product = Tentang produk ini
purchase-line = { $product }: { $package }
price-changed-title = Harga berubah
price-changed = { $purchase } sekarang seharga **{ $price }** (sebelumnya kamu lihat { $confirmed }). Tidak ada yang ditagih. Konfirmasi lagi untuk membeli dengan harga baru.
field-new-price = Harga baru

# Pembelianku: kode pesanan yang sudah selesai ditampilkan lagi.
reveal-placeholder = Lihat lagi kode sebuah pesanan
pick-an-order = Silakan pilih salah satu pesananmu.
reveal-title = Kodemu: { $order }
reveal-summary = Pesanan **{ $order }**: { $purchase }.
reveal-no-codes = Tidak ada kode pesanan ini yang bisa ditampilkan (sudah diganti atau dikembalikan dananya).
reveal-footer = Hanya kamu yang bisa melihat ini. Jaga kerahasiaan kodemu.
reveal-in-file = { $count } kode pesanan ini ada di file terlampir.
button-send-to-dms = Kirim ke DM
reveal-sent-title = Terkirim ke DM
reveal-sent = Kode pesanan { $order } sudah ada di DM-mu.
reveal-dms-closed = DM-mu tertutup, jadi kode tidak bisa dikirim. Izinkan pesan langsung dari anggota server lalu coba lagi, atau gunakan kode yang ditampilkan di sini.
reveal-dm-failed = Kode belum bisa dikirim lewat DM. Coba lagi sebentar lagi.
reveal-cooldown = Kamu terlalu sering meminta kode ditampilkan lagi. Coba lagi dalam { $minutes } menit.
