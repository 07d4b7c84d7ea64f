#!/bin/sh
# Checksums of what the demo generator and the bill run wrote into a SQLite database, leaving out
# the columns that hold the wall-clock time of the run (created_at, posted_at_us, ...), so that two
# builds can be compared: scripts/county-checksum.sh /tmp/a.db > a.txt; ...; diff a.txt b.txt
set -eu
db=$1
q() { printf '%-22s %s\n' "$1" "$(sqlite3 "$db" "$2" | md5sum | cut -c1-32)"; }
q customers      "SELECT * FROM customers ORDER BY customer_id"
q customers_text "SELECT rowid, name, address FROM customers_text WHERE customers_text MATCH '\"安平县\"' ORDER BY rowid"
q meters         "SELECT * FROM meters ORDER BY customer_id, meter_id"
q contracts      "SELECT * FROM contracts ORDER BY customer_id, contract_id"
q readings       "SELECT * FROM readings ORDER BY customer_id, meter_id, read_on"
q books          "SELECT * FROM reading_books ORDER BY id"
q grid_nodes     "SELECT * FROM grid_nodes ORDER BY id"
q grid_branches  "SELECT * FROM grid_branches ORDER BY id"
q bills          "SELECT customer_id, period, revision, bureau_id, book_id, tariff_id, state, start_on, end_on, meter_id,
                    multiplier, prev_read_on, curr_read_on, prev_total_c, curr_total_c, estimated, kwh_c, ytd_kwh_c,
                    total_fen, funds_fen, paid_fen, issued_on, due_on, cancelled_at, cancel_reason
                  FROM bills ORDER BY customer_id, period, revision"
q bill_lines     "SELECT * FROM bill_lines ORDER BY customer_id, period, revision, line_no"
q ledger_entries "SELECT customer_id, entry_id, posted_by, channel, reason, kind, amount_fen, bill_id, period, due_on,
                    idem_key, reversal_of, approved_by FROM ledger_entries ORDER BY customer_id, entry_id"
q ledger_versions "SELECT * FROM ledger_versions ORDER BY customer_id"
q exceptions     "SELECT customer_id, period, kind, bureau_id, meter_id, read_on, detail_zh, detail_en
                  FROM reading_exceptions ORDER BY customer_id, period, kind"
for t in customers readings bills bill_lines ledger_entries work_orders outages; do
  printf '%-22s %s\n' "count:$t" "$(sqlite3 "$db" "SELECT COUNT(*) FROM $t" 2>/dev/null || echo '-')"
done
