# Shared words: dates, packages, money labels, buttons used on many screens.
# Every message here has the same name and the same $variables in locales/id/common.ftl.

month-1 = Jan
month-2 = Feb
month-3 = Mar
month-4 = Apr
month-5 = May
month-6 = Jun
month-7 = Jul
month-8 = Aug
month-9 = Sep
month-10 = Oct
month-11 = Nov
month-12 = Dec
# 2 Dec 2026, 17:30 WIB (Western Indonesian Time, UTC+7)
datetime = { $day } { $month } { $year }, { $hour }:{ $minute } WIB
time-of-day = { $hour }:{ $minute } WIB

package-name =
    { $count ->
        [one] { $count } code
       *[other] { $count } codes
    }
amount-label = { $amount }

button-confirm = Confirm
button-cancel = Cancel
button-check-status = Check status
button-previous = Previous
button-next = Next

error-title = Sorry
nothing-charged = Nothing was charged.

field-price = Price
field-your-balance = Your balance
field-balance-after = Balance after
field-balance-now = Balance now
field-short-by = Short by
field-paid = Paid
field-amount = Amount
field-expires = Expires
field-mode = Mode
field-topped-up = Topped up in total
field-spent = Spent in total
field-reason = Reason
# 2.5% (a defect rate)
percent = { $whole }.{ $tenth }%
