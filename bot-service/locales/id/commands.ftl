# Perintah slash dalam Bahasa Indonesia (lokalisasi `id` Discord). Nama: huruf kecil, tanpa
# spasi, maksimal 32 karakter; deskripsi maksimal 100 karakter.

cmd-shop-name = toko
cmd-shop-description = Buka toko Redfinger: beli kode, isi saldo, cek saldo, riwayat.
cmd-balance-name = saldo
cmd-balance-description = Lihat saldo kamu.
cmd-topup-name = isisaldo
cmd-topup-description = Isi saldo kamu lewat QRIS.
cmd-topup-amount-name = nominal
cmd-topup-amount-description = Nominal dalam rupiah, misalnya 50000
cmd-history-name = riwayat
cmd-history-description = Lihat pesanan dan isi saldo terakhir kamu.

cmd-admin-name = admin
cmd-admin-description = Pengelolaan toko (khusus role admin).
cmd-admin-addstock-name = tambahstok
cmd-admin-addstock-description = Tambah kode ke stok: tempel kodenya (satu per baris) atau lampirkan file .txt.
cmd-admin-addstock-text-name = teks
cmd-admin-addstock-text-description = Kode, satu per baris (atau dipisah spasi)
cmd-admin-addstock-file-name = file
cmd-admin-addstock-file-description = File .txt berisi satu kode per baris
cmd-admin-viewstock-name = lihatstok
cmd-admin-viewstock-description = Lihat jumlah stok dan batch terbaru.
cmd-admin-vieworders-name = lihatpesanan
cmd-admin-vieworders-description = Daftar pesanan, terbaru dulu, dengan filter.
cmd-admin-vieworders-user-name = pengguna
cmd-admin-vieworders-user-description = Hanya pesanan pengguna ini
cmd-admin-vieworders-status-name = status
cmd-admin-vieworders-status-description = Hanya pesanan dengan status ini
cmd-admin-vieworders-page-name = halaman
cmd-admin-vieworders-page-description = Halaman (1 = terbaru)
cmd-admin-processorder-name = prosespesanan
cmd-admin-processorder-description = Kirim ulang atau refund sebuah pesanan.
cmd-admin-processorder-order-number-name = nomor_pesanan
cmd-admin-processorder-order-number-description = Nomor pesanan, misalnya RF-20260101-ABC234
cmd-admin-processorder-action-name = aksi
cmd-admin-processorder-action-description = Yang mau dilakukan
cmd-admin-processorder-force-name = paksa
cmd-admin-processorder-force-description = Refund walaupun pesanan sudah selesai atau sedang dikirim (wajib alasan)
cmd-admin-processorder-reason-name = alasan
cmd-admin-processorder-reason-description = Alasannya (disimpan di log audit; wajib kalau paksa)
cmd-admin-quarantine-name = karantina
cmd-admin-quarantine-description = Lepas atau buang kode yang tidak bisa didekripsi.
cmd-admin-quarantine-action-name = aksi
cmd-admin-quarantine-action-description = release: dijual lagi kalau sudah bisa didekripsi; discard: hapus
cmd-admin-clearowed-name = hapusutang
cmd-admin-clearowed-description = Hapus utang pembeli setelah isi saldonya di-refund atau di-chargeback.
cmd-admin-clearowed-user-name = pengguna
cmd-admin-clearowed-user-description = Pembelinya
cmd-admin-clearowed-note-name = catatan
cmd-admin-clearowed-note-description = Cara penyelesaiannya (disimpan di log audit)
cmd-admin-botstats-name = statistik
cmd-admin-botstats-description = Statistik penjualan, isi saldo, dan stok.
cmd-admin-postpanel-name = pasangpanel
cmd-admin-postpanel-description = Pasang panel toko di channel ini; tombolnya tetap berfungsi setelah restart.

cmd-choice-pending = menunggu
cmd-choice-delivering = sedang dikirim
cmd-choice-completed = selesai
cmd-choice-failed = gagal
cmd-choice-refunded = dana dikembalikan
cmd-choice-redeliver = kirim ulang
cmd-choice-refund = refund
cmd-choice-release = lepas
cmd-choice-discard = buang
