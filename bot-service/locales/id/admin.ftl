# Yang dibaca admin: stok, pesanan, statistik, refund, peringatan.

stock-added-title = Stok ditambahkan
stock-batch = Batch `{ $batch }`
stock-rejected = Ditolak ({ $count })
stock-rejected-line = baris { $line }: { $reason }
field-added = Ditambahkan
field-duplicates = Duplikat
field-available-now = Tersedia sekarang
stock-title = Stok
field-available = Tersedia
field-reserved = Dipesan
field-sold = Terjual
field-low-stock-at = Peringatan stok menipis di
field-quarantined = Dikarantina
stock-quarantined = **{ $count }** kode yang sudah dipesan tidak bisa didekripsi dan ditarik dari penjualan. Pasang kembali kunci yang hilang lalu jalankan `/admin karantina` dengan aksi lepas, atau buang dengan aksi buang.
field-recent-batches = Batch terbaru
stock-batch-line = `{ $batch }` +{ $added } ({ $duplicates } duplikat, { $rejected } ditolak) { $at }

orders-title = Pesanan
orders-none = Tidak ada pesanan yang cocok.
orders-filter-status = status { $status }
orders-filter-user = pengguna { $user }
orders-footer = Halaman { $page } dari { $pages } · { $total } pesanan
field-filter = Filter

processed-redeliver = Pengiriman ulang diminta
processed-refund = Dana dikembalikan
processed-refund-amount = Dana dikembalikan { $amount }
processed-refund-forced = Dana dikembalikan (paksa)
processed-refund-forced-amount = Dana dikembalikan (paksa) { $amount }
processed-status = Status pesanan `{ $order }` sekarang: { $status }.
field-forced = Paksa
processed-forced = Ya: pesanan sudah selesai atau sedang dikirim; pembeli mungkin sudah memegang kodenya.
field-deliveries-cancelled = Pengiriman dibatalkan
processed-voided = { $count } pengiriman dalam antrean tidak akan dikirim.

quarantine-released-title = Kode karantina dilepas
quarantine-discarded-title = Kode karantina dibuang
field-back-on-sale = Dijual kembali
field-discarded = Dibuang
field-still-quarantined = Masih dikarantina

owed-cleared-title = Utang dihapus
owed-cleared = Utang { $user } sebesar { $amount } sudah dihapus; pengguna ini bisa memesan lagi.
owed-nothing = { $user } tidak punya utang.

anomaly-delivered-after-refund-title = Terkirim setelah refund
anomaly-delivered-after-refund = Pesanan `{ $order }` milik { $user } tetap berstatus refund, tetapi pembeli sudah menerima kodenya. Putuskan apakah perlu menghubungi pembeli atau menyesuaikan saldonya.
field-what-happened = Yang terjadi

stats-title = Statistik toko
stats-today = Hari ini
stats-7-days = 7 hari terakhir
stats-30-days = 30 hari terakhir
stats-stock = Stok
stats-period = { $orders } pesanan · { $codes } kode · { $revenue }
    { $topups } isi saldo · { $topup_amount }
stats-stock-line = { $available } tersedia · { $reserved } dipesan · { $sold } terjual
field-failed-deliveries = Pengiriman gagal
field-users = Pengguna

stock-low-title = Stok menipis
stock-low = Tinggal **{ $available }** kode (batas peringatan { $threshold }). Tambah stok dengan `/admin tambahstok`.
delivery-failed-title = Pengiriman gagal
delivery-failed-alert = Pesanan `{ $order }` untuk { $user } gagal dikirim setelah { $attempts } kali percobaan. Gunakan `/admin prosespesanan` untuk { $order } dengan aksi kirim ulang atau refund.

reversed-title = Dana isi saldo ditarik kembali
reversed-refund = Isi saldo `{ $order }` milik { $user } di-refund setelah saldonya masuk ({ $status }): { $returned } dikembalikan, { $taken } ditarik dari saldo.
reversed-chargeback = Isi saldo `{ $order }` milik { $user } di-chargeback oleh bank pembayar setelah saldonya masuk ({ $status }): { $returned } dikembalikan, { $taken } ditarik dari saldo.
reversed-owes = Pengguna ini berutang { $amount } dan tidak bisa memesan sampai admin menghapusnya.
field-owed-now = Utang sekarang

admin-not-in-guild = Perintah admin hanya bisa dipakai di server toko, bukan lewat DM.
admin-foreign-guild = Perintah admin hanya bisa dipakai di server toko ini.
admin-missing-role = Kamu perlu role { $role } untuk memakai perintah ini.

stock-file-too-large = File itu lebih dari 1 MiB.
stock-file-not-text = File itu bukan file teks UTF-8.
stock-no-codes = Tempel kodenya sebagai teks atau lampirkan file .txt.
stock-download-status = File gagal diunduh dari Discord (HTTP { $status }). Tidak ada kode yang ditambahkan; lampirkan file itu lagi.
stock-download-too-large = File itu lebih dari 1 MiB. Tidak ada kode yang ditambahkan.
stock-download-failed = File gagal diunduh dari Discord. Tidak ada kode yang ditambahkan; silakan coba lagi.
unknown-user = Pengguna itu tidak dikenal oleh toko.
panel-posted-title = Panel dipasang
panel-posted = Panel toko sekarang ada di channel ini.
panel-failed = Panel gagal dipasang di sini. Apakah bot punya izin mengirim pesan di channel ini?
