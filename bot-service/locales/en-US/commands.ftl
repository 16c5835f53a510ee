# Slash commands: what Discord shows in the command picker. English is the default Discord
# shows; locales/id/commands.ftl gives the `id` localizations (names must be lower case,
# without spaces, at most 32 characters; descriptions at most 100).

cmd-shop-name = shop
cmd-shop-description = Open the Redfinger shop: order codes, top up, balance, history.
cmd-balance-name = balance
cmd-balance-description = Show your balance.
cmd-topup-name = topup
cmd-topup-description = Top up your balance with QRIS.
cmd-topup-amount-name = amount
cmd-topup-amount-description = Amount in rupiah, e.g. 50000
cmd-history-name = history
cmd-history-description = Show your recent orders and top-ups.

cmd-admin-name = admin
cmd-admin-description = Shop administration (admin role required).
cmd-admin-addstock-name = addstock
cmd-admin-addstock-description = Add codes to the stock: paste them (one a line) or attach a .txt file.
cmd-admin-addstock-text-name = text
cmd-admin-addstock-text-description = Codes, one a line (or separated by spaces)
cmd-admin-addstock-file-name = file
cmd-admin-addstock-file-description = A .txt file with one code a line
cmd-admin-viewstock-name = viewstock
cmd-admin-viewstock-description = Show stock counts and recent batches.
cmd-admin-vieworders-name = vieworders
cmd-admin-vieworders-description = List orders, newest first, with filters.
cmd-admin-vieworders-user-name = user
cmd-admin-vieworders-user-description = Only this user's orders
cmd-admin-vieworders-status-name = status
cmd-admin-vieworders-status-description = Only orders in this state
cmd-admin-vieworders-page-name = page
cmd-admin-vieworders-page-description = Page (1 = newest)
cmd-admin-processorder-name = processorder
cmd-admin-processorder-description = Re-deliver or refund an order.
cmd-admin-processorder-order-number-name = order_number
cmd-admin-processorder-order-number-description = Order number, e.g. RF-20260101-ABC234
cmd-admin-processorder-action-name = action
cmd-admin-processorder-action-description = What to do
cmd-admin-processorder-force-name = force
cmd-admin-processorder-force-description = Refund even a completed or delivering order (needs a reason)
cmd-admin-processorder-reason-name = reason
cmd-admin-processorder-reason-description = Why (kept in the audit log; required with force)
cmd-admin-quarantine-name = quarantine
cmd-admin-quarantine-description = Release or discard codes that could not be decrypted.
cmd-admin-quarantine-action-name = action
cmd-admin-quarantine-action-description = release: back on sale when they decrypt again; discard: delete them
cmd-admin-defectbatch-name = defectbatch
cmd-admin-defectbatch-description = Declare a stock batch defective: its unsold codes leave sale, sold ones count as defects.
cmd-admin-defectbatch-batch-name = batch
cmd-admin-defectbatch-batch-description = Batch id, as /admin viewstock shows it
cmd-admin-defectbatch-note-name = note
cmd-admin-defectbatch-note-description = Why (kept in the audit log)
cmd-admin-clearowed-name = clearowed
cmd-admin-clearowed-description = Clear what a buyer owes after a top-up was refunded or charged back.
cmd-admin-clearowed-user-name = user
cmd-admin-clearowed-user-description = The buyer
cmd-admin-clearowed-note-name = note
cmd-admin-clearowed-note-description = How it was settled (kept in the audit log)
cmd-admin-botstats-name = botstats
cmd-admin-botstats-description = Sales, top-ups and stock statistics.
cmd-admin-postpanel-name = postpanel
cmd-admin-postpanel-description = Post the shop panel in this channel; its buttons keep working after restarts.

cmd-choice-pending = pending
cmd-choice-delivering = delivering
cmd-choice-completed = completed
cmd-choice-failed = failed
cmd-choice-refunded = refunded
cmd-choice-redeliver = redeliver
cmd-choice-refund = refund
cmd-choice-release = release
cmd-choice-discard = discard
