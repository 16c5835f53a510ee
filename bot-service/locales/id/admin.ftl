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
stock-batch-line = `{ $batch }` +{ $added } ({ $duplicates } duplikat, { $rejected } ditolak) · { $sold } terjual · { $defective } rusak ({ $rate }) { $at }
field-defective = Rusak

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
stats-stock-line = { $available } tersedia · { $reserved } dipesan · { $sold } terjual · { $defective } rusak
field-open-reports = Laporan terbuka
field-defective-batches = Batch paling banyak rusak
stats-defective-batch-line = `{ $batch }`: { $defective } dari { $added } rusak ({ $rate }) · { $sold } terjual
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

batch-defective-title = Batch dinyatakan rusak
batch-defective = Batch `{ $batch }`: semua kodenya sekarang dihitung rusak, dan kode yang belum terjual ditarik dari penjualan.
field-withdrawn = Ditarik dari penjualan

# Laporan, di thread bantuan privatnya (dalam bahasa toko) dan untuk admin yang menanganinya.
report-thread-name = laporan { $order }
report-thread-greeting = { $admins } { $user } melaporkan masalah pada pesanan `{ $order }`.
report-title = Laporan #{ $id } — { $order }
report-description = Kode tidak pernah ditampilkan di sini. **Lihat kode** menampilkannya hanya untuk kamu; **Ganti** mengirim kode baru ke pembeli, **Refund** mengembalikan bagian harganya ke saldo pembeli, **Tolak** menutup laporan dengan alasan untuk pembeli.
field-order = Pesanan
field-package = Paket
field-ordered = Tanggal pesan
field-status = Status
field-note = Catatan pembeli
field-refunded-so-far = Sudah di-refund untuk pesanan ini
field-rejection = Alasan penolakan
report-code-line = #{ $position }: { $state }
report-code-open = belum ditangani
report-code-replaced = sudah diganti
report-code-refunded = sudah di-refund
report-code-rejected = ditolak
report-status-open = terbuka
report-status-resolved = selesai
report-status-rejected = ditolak
report-footer = Laporan #{ $id } · dibuat { $at }
button-reveal = Lihat kode
button-replace = Ganti
button-refund = Refund
button-reject = Tolak
report-replace-modal-title = Ganti kode — laporan #{ $id }
report-refund-modal-title = Refund kode — laporan #{ $id }
report-reject-modal-title = Tolak laporan #{ $id }
report-admin-positions-label = Kode nomor berapa? (kosong = semua)
report-admin-positions-placeholder = misalnya 2, 4 — kosongkan untuk semua kode yang belum ditangani
report-reject-reason-label = Alasannya? (dibaca pembeli)
report-reject-reason-placeholder = misalnya kodenya sudah di-redeem di akun pembeli sendiri
report-rejection-required = Tulis alasan penolakannya: pembeli akan membacanya.
report-revealed-title = Kode laporan #{ $id }
report-revealed = Pesan ini hanya terlihat oleh kamu. Jangan pernah tempel kodenya di thread.
report-revealed-none = Tidak ada kode dari laporan ini yang bisa ditampilkan.
report-replaced-title = Kode diganti
report-replaced = Laporan #{ $id } · pesanan `{ $order }`: { $positions } diganti. Pembeli menerima kode barunya lewat DM.
report-refunded-title = Kode di-refund
report-refunded = Laporan #{ $id } · pesanan `{ $order }`: { $positions } di-refund; { $amount } sudah masuk lagi ke saldo pembeli.
report-rejected-title = Laporan ditolak
report-rejected = Laporan #{ $id } · pesanan `{ $order }`: { $positions } ditolak. Pembeli diberi tahu alasannya.
report-action-done-title = Beres
report-action-posted = Hasilnya sudah diposting di thread laporan, dan pembeli mendapat DM.

# Penolakan yang dijelaskan payment-service kepada admin (shared_proto::Refusal).
refusal-report-not-found = Tidak ada laporan #{ $id }.
refusal-report-closed = Laporan #{ $id } sudah ditutup; tidak ada lagi yang perlu dilakukan.
refusal-report-code-not-open = Kode { $position } bukan bagian laporan #{ $id } yang masih terbuka.
refusal-rejection-reason-required = Tulis alasan penolakannya: pembeli akan membacanya.
refusal-batch-not-found = Tidak ada batch stok { $batch }.
refusal-refunds-disabled = Refund sedang dimatikan (ENABLE_REFUND=false).
refusal-already-refunded = Pesanan { $order } sudah di-refund.
refusal-refund-needs-force = Pesanan { $order } sudah selesai atau sedang dikirim: pembeli mungkin sudah memegang kodenya. Refund hanya dengan paksa dan alasan.
refusal-forced-refund-needs-reason = Refund paksa untuk pesanan { $order } wajib disertai alasan.
refusal-order-changed = Pesanan { $order } berubah sementara itu; lihat lagi lalu coba ulang.

# Katalog, untuk admin.
refusal-product-name-taken = Sudah ada produk lain bernama { $name }.
refusal-product-name-invalid = Nama produk harus 1 sampai 80 karakter, deskripsi paling banyak 300.
product-option-invalid = Pilih produk dari daftar yang muncul saat mengetik.
product-edit-nothing = Tidak ada yang diubah: isi minimal salah satu dari nama, deskripsi, urutan tampil, batas stok menipis atau aktif.
price-list-empty = Isi minimal satu harga, misalnya `1=15000,5=70000`.
price-list-too-long = Daftar harga terlalu panjang; isi satu harga untuk tiap paket, misalnya `1=15000,5=70000`.
price-list-not-a-pair = `{ $entry }` bukan paket=harga, misalnya `5=70000`. Tidak ada yang diubah.
price-list-unknown-package = `{ $package }` bukan paket: gunakan 1, 5, 10, 25 atau 50. Tidak ada yang diubah.
price-list-bad-price = `{ $price }` bukan harga: isi rupiah bulat di atas nol, misalnya 70000. Tidak ada yang diubah.
price-list-duplicate = Paket { $codes } kode diisi dua kali. Tidak ada yang diubah.
product-choice = { $name } (#{ $id })
product-choice-disabled = { $name } (#{ $id }, tidak dijual)
products-title = Produk
products-changed = Selesai: { $product } (#{ $id }). Seluruh katalog:
products-none = Belum ada produk. Tambahkan dengan `/admin produk tambah`.
product-heading = { $product } (#{ $id })
product-heading-disabled = { $product } (#{ $id }), tidak dijual
product-threshold-default = bawaan toko
product-details = { $prices }
    { $available } tersedia · { $sold } terjual · urutan tampil { $order } · stok menipis di { $threshold }
product-no-prices = tidak ada paket yang dijual
field-per-product = Per produk
product-stock-line = **{ $product }** (#{ $id }): { $available } tersedia · { $reserved } dipesan · { $sold } terjual · menipis di { $threshold }
product-stock-line-disabled = **{ $product }** (#{ $id }, tidak dijual): { $available } tersedia · { $reserved } dipesan · { $sold } terjual · menipis di { $threshold }
product-sales-30-days = {" "}· 30 hari: { $orders } pesanan, { $codes } kode, { $revenue }
orders-filter-product = produk { $product }
stock-low-product = Tinggal **{ $available }** kode **{ $product }** (batas peringatan { $threshold }). Tambah stok dengan `/admin tambahstok`.
stock-panel-title = Stok
stock-panel-description = Kode yang tersedia saat ini, per produk. Tekan **Beli Kode** untuk membeli.
stock-panel-product = { $product }: { $available } tersedia
stock-panel-sold-out = { $line } (habis)
stock-panel-footer = Diperbarui otomatis
buy-log = Seorang pembeli membeli { $count } × { $product }
buy-log-unnamed = Seorang pembeli membeli { $package }
