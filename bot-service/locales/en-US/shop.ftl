# What buyers read: the menu, ordering, top-ups, balance and history.

menu-title = Redfinger Shop
menu-description = Buy Redfinger redeem codes with your balance. Top up with QRIS, then order a package — the codes arrive in your DMs within seconds.
menu-footer = Use the buttons below; only you see the answers.
menu-order = Order codes
menu-topup = Top up
menu-balance = Balance
menu-history = History
menu-help = Help

help-title = How it works
help-topup-name = 1. Top up
help-topup = Pick an amount, scan the QRIS code with any e-wallet or bank app. Your balance is credited as soon as the payment settles.
help-order-name = 2. Order
help-order = Choose a package, check the price and confirm. The price is taken from your balance.
help-receive-name = 3. Receive
help-receive = Codes arrive by DM (a .txt file above 10 codes). If your DMs are closed you get them privately here instead.
help-commands-name = Commands
help-commands = `/shop` `/balance` `/topup` `/history`

foreign-click = These buttons belong to someone else. Use `/shop` to open your own menu.
stale-click = This menu is from an older version of the bot and no longer works. Use `/shop` to open a new one.
unknown-button = This button is not recognised. Use `/shop` to open a new menu.

err-insufficient-balance = Not enough balance: the price is { $price }, your balance is { $balance }; top up at least { $shortfall }.
err-out-of-stock = Not enough codes in stock: you asked for { $requested }, { $available } available.
err-unknown-package = There is no package of { $codes } codes.
err-invalid-amount = The amount must be from { $min } to { $max }.
err-daily-limit = You reached today's limit of { $limit } orders.
err-cooldown = Please wait { $seconds } s before ordering again.
err-forbidden = This is not allowed.
err-not-found = That was not found.
err-invalid-input = The request could not be accepted.
err-provider = The payment provider is not answering right now; please try again later.
err-internal = Something went wrong on our side; please try again.
err-timeout = The shop is taking too long to answer. Please try again in a minute.
err-unavailable = The shop is temporarily unavailable. Please try again in a minute.

package-option = { $package } — { $price }
package-in-stock = In stock
package-out-of-stock = Out of stock
nothing-on-sale-title = Nothing on sale
nothing-on-sale = No packages are on sale right now. Please try again later.
picker-title = Order codes
picker-description = Choose a package. { $available } codes are available right now.
picker-placeholder = Choose a package
pick-a-package = Please pick one of the packages.

out-of-stock-title = Out of stock
out-of-stock = There are not enough codes for { $package } right now. Admins have been told; please try a smaller package or come back later.
confirm-title = Confirm your order
short-title = Not enough balance
short-description = Top up at least **{ $shortfall }** to buy this package.
placing-title = Placing your order…
placing = { $package }: one moment.
order-cancelled-title = Order cancelled
order-placed-title = Order placed
order-placed = Order **{ $order }**: { $package }. Your codes are on their way to your DMs.
order-out-of-stock = { $reason } Nothing was charged; admins have been told.
order-refunded-title = Order refunded
order-refunded = Order `{ $order }` was refunded: { $amount } is back in your balance.

topup-title = Top up
topup-picker = Choose an amount (from { $min } to { $max }). You pay with QRIS from any e-wallet or bank app.
topup-other-amount = Other amount
topup-modal-title = Top up
topup-modal-label = Amount in rupiah
topup-creating-title = Creating your QR code…
topup-creating = Top-up of { $amount }.
topup-footer = Top-up { $order }
qr-title = Scan to pay
qr-description = Scan this QRIS code with any e-wallet or bank app. Your balance is credited automatically; you will get a DM.
sandbox-label = TEST PAYMENT (sandbox)
qr-sandbox-title = TEST PAYMENT (sandbox): scan to pay
qr-sandbox = This shop runs in Midtrans **sandbox** mode: this QR is a test payment. No real money is taken, and real e-wallet or bank apps cannot pay it.
qr-on-its-way-title = Your QR code is on its way
qr-on-its-way = The payment provider is still creating the QRIS code for your top-up of { $amount }. Press **Check status** in a moment to see it. Nothing is charged until you pay.
qr-draw-failed = The payment QR code could not be drawn. Please try again.
qr-buttons-failed = The top-up was created but its buttons could not be built; use /history to follow it.
topup-paid-title = Top-up paid
topup-added = { $amount } was added to your balance.
topup-not-paid-title = Top-up not paid
topup-not-paid = This top-up of { $amount } { $state }. Nothing was charged; start a new one with `/topup`.
topup-waiting-title = Waiting for payment
topup-waiting = { $amount } has not been paid yet.
topup-waiting-until = { $amount } has not been paid yet. The QR code expires at { $expires }.
topup-received-title = Top-up received
topup-not-completed-title = Top-up not completed
topup-not-completed = Your top-up of { $amount } { $state }. Nothing was charged.
topup-word-expired = expired
topup-word-cancelled = was cancelled
topup-word-declined = was declined
topup-word-closed = was closed
topup-state-pending = pending
topup-state-paid = paid
topup-state-not-paid = not paid

balance-title = Your balance
history-title = Your history
history-orders = Orders
history-topups = Top-ups
history-no-orders = No orders yet.
history-no-topups = No top-ups yet.

order-status-pending = pending
order-status-delivering = delivering
order-status-completed = completed
order-status-failed = failed
order-status-refunded = refunded
menu-build-failed = This menu could not be built.

amount-not-a-number = Please enter a whole number of rupiah, like 50000 or 50.000.
amount-has-sen = Rupiah top-ups have no sen: enter a whole amount, like 50.000 (not { $text }).
amount-not-positive = The amount must be more than zero.
amount-below-min = The smallest top-up is { $min }.
amount-above-max = The largest top-up is { $max }.
topup-modal-range = { $min } – { $max }
package-gone = That package is not on sale any more.
order-outcome-unknown = { $reason } If you were charged, the order still completes and your codes arrive by DM.
order-result-unshown = The result could not be shown; check `/history`.

codes-title = Your Redfinger codes — { $order }
codes-summary = Order **{ $order }**: { $package } for { $price }.
codes-footer = Keep these codes private. Each code works once. A code does not work? Press Report a problem and give its number, counting from the top (the first code is 1).
codes-replacement-title = Replacement codes — { $order }
codes-replacement-summary = These replace codes { $positions } of order **{ $order }**, in that order.
codes-replacement-footer = Keep these codes private. Each code works once. If a replacement does not work either, write in your report's thread.
codes-in-file =
    { $count ->
        [one] Your code is in the attached file.
       *[other] Your { $count } codes are in the attached file, one a line.
    }
codes-thread-name = codes { $order }
codes-thread-greeting = { $user } your DMs are closed, so your codes are here, in a private thread only you and the admins can see.
codes-dms-closed = Your DMs are closed, so here are your codes — only you can see this message.
err-command-failed = Something went wrong. Please try again in a minute.

# Reports: a buyer reports bad codes of a delivery.
button-report = Report a problem
report-reasons-title = Report a problem — { $order }
report-reasons = What is wrong with the codes of order `{ $order }`? Pick one; you then say which codes.
report-reason-used = Already used
report-reason-invalid = Invalid
report-reason-other = Other…
report-modal-title = Report order { $order }
report-positions-label = Which codes?
report-positions-placeholder = Counting from the top of the delivery, e.g. 2, 4 — or all
report-note-label = What happened?
report-note-placeholder = Anything to add? (optional)
report-note-placeholder-required = Tell us what is wrong (required)
report-positions-empty = Give the numbers of the codes as in the delivery, e.g. 2, 4 — or all.
report-positions-not-a-number = "{ $text }" is not a code number. Give numbers as in the delivery, e.g. 2, 4 — or all.
report-positions-out-of-range = There is no code #{ $position }: give numbers from 1 to { $max }, as in the delivery.
report-note-required = You chose Other: please say in the note what is wrong.
report-note-too-long = The note may be at most { $max } characters long.
report-cooldown =
    { $minutes ->
        [one] You sent several reports recently. Please wait a minute before the next one.
       *[other] You sent several reports recently. Please wait { $minutes } minutes before the next one.
    }
report-sent-title = Report sent
report-sent = Report #{ $id } on order `{ $order }` is open. Follow it in { $thread }: an admin answers you there.
report-sent-no-thread = Report #{ $id } on order `{ $order }` is recorded, but its support thread could not be opened. Please contact an admin and mention report #{ $id }.
field-codes-reported = Codes reported
report-updated-replaced-title = Codes replaced
report-updated-replaced = Codes { $positions } of order `{ $order }` were replaced. The new codes arrive in a separate message.
report-updated-refunded-title = Codes refunded
report-updated-refunded = { $amount } for codes { $positions } of order `{ $order }` is back in your balance.
report-updated-rejected-title = Report turned down
report-updated-rejected = Your report on codes { $positions } of order `{ $order }` was turned down.

# Refusals the payment-service explains (shared_proto::Refusal).
refusal-order-not-found = There is no order { $order } of yours.
refusal-order-not-delivered = Order { $order } is not delivered yet: only a delivered order can be reported.
refusal-report-already-open = Order { $order } already has an open report; an admin is on it.
refusal-code-already-settled = Code { $position } of order { $order } was already replaced or refunded.
refusal-no-such-code = This order has codes 1 to { $quantity }; there is no code { $position }.
refusal-report-note-required = You chose Other: please say what is wrong with the codes.
refusal-balance-owed = { $amount } of a refunded or charged-back top-up is still owed. An admin must clear it before you can order.
refusal-topup-not-found = There is no top-up { $order } of yours.
order-status-partially-refunded = { $status }, partially refunded ({ $amount })

# The catalogue: several products, a changed price.
refusal-price-changed = The price of { $package } of { $product } changed from { $confirmed } to { $price }. Nothing was charged.
refusal-product-not-found = Product #{ $id } is not in the shop (or no longer on sale).
refusal-product-inactive = { $product } is not on sale right now.
refusal-package-not-on-sale = { $package } of { $product } is not on sale right now.
refusal-reveal-window-passed = The codes of order { $order } can only be shown again within { $days } days of the purchase. Please open a report if you need help.
product-unnamed = Redfinger codes
product-option = { $available } available · from { $price }
product-option-no-price = { $available } available
product-picker-description = Choose a product; its packages and prices come next.
product-picker-placeholder = Choose a product
pick-a-product = Please pick one of the products.
product-gone = That product is no longer on sale. Use `/shop` to see what is.
picker-product-title = Order { $product }
picker-product-description = Choose a package. { $available } codes are available right now.
field-product = About this product
purchase-line = { $product }: { $package }
price-changed-title = The price changed
price-changed = { $purchase } now costs **{ $price }** (you saw { $confirmed }). Nothing was charged. Confirm again to buy at the new price.
field-new-price = New price

# My purchases: codes of a completed order shown again.
reveal-placeholder = See the codes of an order again
pick-an-order = Please pick one of your orders.
reveal-title = Your codes: { $order }
reveal-summary = Order **{ $order }**: { $purchase }.
reveal-no-codes = No codes of this order are left to show (replaced or refunded).
reveal-footer = Only you can see this. Keep your codes private.
reveal-in-file = This order's { $count } codes are in the attached file.
button-send-to-dms = Send to my DMs
reveal-sent-title = Sent to your DMs
reveal-sent = The codes of order { $order } are in your DMs.
reveal-dms-closed = Your DMs are closed, so the codes could not be sent. Allow direct messages from server members and try again, or use the codes shown here.
reveal-dm-failed = The codes could not be sent by DM right now. Please try again in a minute.
reveal-cooldown = You asked to see codes again too often. Please try again in { $minutes } min.
