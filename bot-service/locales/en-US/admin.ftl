# What admins read: stock, orders, statistics, refunds, alerts.

stock-added-title = Stock added
stock-batch = Batch `{ $batch }`
stock-rejected = Rejected ({ $count })
stock-rejected-line = line { $line }: { $reason }
field-added = Added
field-duplicates = Duplicates
field-available-now = Available now
stock-title = Stock
field-available = Available
field-reserved = Reserved
field-sold = Sold
field-low-stock-at = Low-stock alert at
field-quarantined = Quarantined
stock-quarantined = **{ $count }** of the reserved codes could not be decrypted and are off sale. Put the missing key back and run `/admin quarantine release`, or drop them with `/admin quarantine discard`.
field-recent-batches = Recent batches
stock-batch-line = `{ $batch }` +{ $added } ({ $duplicates } dup, { $rejected } rejected) · { $sold } sold · { $defective } defective ({ $rate }) { $at }
field-defective = Defective

orders-title = Orders
orders-none = No orders match.
orders-filter-status = status { $status }
orders-filter-user = user { $user }
orders-footer = Page { $page } of { $pages } · { $total } orders
field-filter = Filter

processed-redeliver = Re-delivery requested
processed-refund = Refunded
processed-refund-amount = Refunded { $amount }
processed-refund-forced = Refunded (forced)
processed-refund-forced-amount = Refunded (forced) { $amount }
processed-status = Order `{ $order }` is now { $status }.
field-forced = Forced
processed-forced = Yes: the order was completed or being delivered; the buyer may hold the codes.
field-deliveries-cancelled = Deliveries cancelled
processed-voided =
    { $count ->
        [one] { $count } queued delivery will not be sent.
       *[other] { $count } queued deliveries will not be sent.
    }

quarantine-released-title = Quarantined codes released
quarantine-discarded-title = Quarantined codes discarded
field-back-on-sale = Back on sale
field-discarded = Discarded
field-still-quarantined = Still quarantined

owed-cleared-title = Amount owed cleared
owed-cleared = { $user } owed { $amount }; that is cleared and they can order again.
owed-nothing = { $user } owed nothing.

anomaly-delivered-after-refund-title = Delivered after refund
anomaly-delivered-after-refund = Order `{ $order }` of { $user } stays refunded, but the buyer received its codes. Decide whether to contact the buyer or adjust the balance.
field-what-happened = What happened

stats-title = Shop statistics
stats-today = Today
stats-7-days = Last 7 days
stats-30-days = Last 30 days
stats-stock = Stock
stats-period = { $orders } orders · { $codes } codes · { $revenue }
    { $topups } top-ups · { $topup_amount }
stats-stock-line = { $available } available · { $reserved } reserved · { $sold } sold · { $defective } defective
field-open-reports = Open reports
field-defective-batches = Most defective batches
stats-defective-batch-line = `{ $batch }`: { $defective } of { $added } defective ({ $rate }) · { $sold } sold
field-failed-deliveries = Failed deliveries
field-users = Users

stock-low-title = Low stock
stock-low = Only **{ $available }** codes left (alert threshold { $threshold }). Add stock with `/admin addstock`.
delivery-failed-title = Delivery failed
delivery-failed-alert = Order `{ $order }` for { $user } could not be delivered after { $attempts } attempts. Use `/admin processorder { $order } redeliver` or `refund`.

reversed-title = Top-up money returned
reversed-refund = Top-up `{ $order }` of { $user } was refunded after it was credited ({ $status }): { $returned } returned, { $taken } taken back from the balance.
reversed-chargeback = Top-up `{ $order }` of { $user } was charged back by the payer's bank after it was credited ({ $status }): { $returned } returned, { $taken } taken back from the balance.
reversed-owes = The user owes { $amount } and cannot order until an admin clears it.
field-owed-now = Owed now

admin-not-in-guild = Admin commands work only inside the shop's server, not in direct messages.
admin-foreign-guild = Admin commands work only in the shop's own server.
admin-missing-role = You need the { $role } role to use this command.

stock-file-too-large = That file is larger than 1 MiB.
stock-file-not-text = The file is not a UTF-8 text file.
stock-no-codes = Give the codes as text or attach a .txt file.
stock-download-status = The file could not be downloaded from Discord (HTTP { $status }). No codes were added; please attach the file again.
stock-download-too-large = That file is larger than 1 MiB. No codes were added.
stock-download-failed = The file could not be downloaded from Discord. No codes were added; please try again.
unknown-user = That is not a user the shop knows.
panel-posted-title = Panel posted
panel-posted = The shop panel is in this channel now.
panel-failed = The panel could not be posted here. Does the bot have permission to send messages in this channel?

batch-defective-title = Batch declared defective
batch-defective = Batch `{ $batch }`: all its codes now count as defective, and its unsold codes are off sale.
field-withdrawn = Taken off sale

# Reports, in their private support thread (in the shop's language) and to the admin who acts.
report-thread-name = report { $order }
report-thread-greeting = { $admins } { $user } reported a problem with order `{ $order }`.
report-title = Report #{ $id } — { $order }
report-description = The codes are never shown here. **Reveal codes** shows them to you alone; **Replace** sends the buyer fresh codes, **Refund** returns their share of the price to the buyer's balance, **Reject** closes the report with a reason for the buyer.
field-order = Order
field-package = Package
field-ordered = Ordered
field-status = Status
field-note = Buyer's note
field-refunded-so-far = Refunded for this order so far
field-rejection = Why it was rejected
report-code-line = #{ $position }: { $state }
report-code-open = open
report-code-replaced = replaced
report-code-refunded = refunded
report-code-rejected = turned down
report-status-open = open
report-status-resolved = resolved
report-status-rejected = rejected
report-footer = Report #{ $id } · opened { $at }
button-reveal = Reveal codes
button-replace = Replace
button-refund = Refund
button-reject = Reject
report-replace-modal-title = Replace codes — report #{ $id }
report-refund-modal-title = Refund codes — report #{ $id }
report-reject-modal-title = Reject report #{ $id }
report-admin-positions-label = Which codes? (empty = all open)
report-admin-positions-placeholder = e.g. 2, 4 — leave empty for every code still open
report-reject-reason-label = Why? (the buyer reads this)
report-reject-reason-placeholder = e.g. the code was redeemed on the buyer's own account
report-rejection-required = Give the reason for rejecting: the buyer reads it.
report-revealed-title = Codes of report #{ $id }
report-revealed = Only you see this message. Never paste the codes in the thread.
report-revealed-none = No code of this report could be shown.
report-replaced-title = Codes replaced
report-replaced = Report #{ $id } · order `{ $order }`: { $positions } replaced. The buyer gets the new codes by DM.
report-refunded-title = Codes refunded
report-refunded = Report #{ $id } · order `{ $order }`: { $positions } refunded; { $amount } is back in the buyer's balance.
report-rejected-title = Report rejected
report-rejected = Report #{ $id } · order `{ $order }`: { $positions } turned down. The buyer is told why.
report-action-done-title = Done
report-action-posted = The outcome is posted in the report's thread, and the buyer gets a DM.

# Refusals the payment-service explains to admins (shared_proto::Refusal).
refusal-report-not-found = There is no report #{ $id }.
refusal-report-closed = Report #{ $id } is closed; nothing more to do.
refusal-report-code-not-open = Code { $position } is not an open part of report #{ $id }.
refusal-rejection-reason-required = Give the reason for rejecting: the buyer reads it.
refusal-batch-not-found = There is no stock batch { $batch }.
refusal-refunds-disabled = Refunds are switched off (ENABLE_REFUND=false).
refusal-already-refunded = Order { $order } was already refunded.
refusal-refund-needs-force = Order { $order } is completed or being delivered: the buyer may hold its codes. Refund it only with force and a reason.
refusal-forced-refund-needs-reason = A forced refund of order { $order } needs a reason.
refusal-order-changed = Order { $order } changed meanwhile; look at it again and retry.

# The catalogue, for admins.
refusal-product-name-taken = Another product is already called { $name }.
refusal-product-name-invalid = A product name must be 1 to 80 characters, a description at most 300.
product-option-invalid = Pick a product from the list offered while typing.
product-edit-nothing = Nothing to change: give at least one of name, description, display order, low-stock threshold or active.
price-list-empty = Give at least one price, like `1=15000,5=70000`.
price-list-too-long = The price list is too long; give one price for each package, like `1=15000,5=70000`.
price-list-not-a-pair = `{ $entry }` is not package=price, like `5=70000`. Nothing was changed.
price-list-unknown-package = `{ $package }` is not a package: use 1, 5, 10, 25 or 50. Nothing was changed.
price-list-bad-price = `{ $price }` is not a price: give whole rupiah above zero, like 70000. Nothing was changed.
price-list-duplicate = The package of { $codes } codes is given twice. Nothing was changed.
product-choice = { $name } (#{ $id })
product-choice-disabled = { $name } (#{ $id }, off sale)
products-title = Products
products-changed = Done: { $product } (#{ $id }). The whole catalogue:
products-none = There are no products yet. Add one with `/admin product add`.
product-heading = { $product } (#{ $id })
product-heading-disabled = { $product } (#{ $id }), off sale
product-threshold-default = shop default
product-details = { $prices }
    { $available } available · { $sold } sold · display order { $order } · low stock at { $threshold }
product-no-prices = no package on sale
field-per-product = Per product
product-stock-line = **{ $product }** (#{ $id }): { $available } available · { $reserved } reserved · { $sold } sold · low at { $threshold }
product-stock-line-disabled = **{ $product }** (#{ $id }, off sale): { $available } available · { $reserved } reserved · { $sold } sold · low at { $threshold }
product-sales-30-days = {" "}· 30 days: { $orders } orders, { $codes } codes, { $revenue }
orders-filter-product = product { $product }
stock-low-product = Only **{ $available }** codes of **{ $product }** left (alert threshold { $threshold }). Add stock with `/admin addstock`.
stock-panel-title = Stock
stock-panel-description = Codes available right now, by product. Press **Order codes** to buy.
stock-panel-product = { $product }: { $available } available
stock-panel-sold-out = { $line } (sold out)
stock-panel-footer = Updated automatically
buy-log = A buyer bought { $count } × { $product }
buy-log-unnamed = A buyer bought { $package }
