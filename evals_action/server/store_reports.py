"""The store's part for the server's own GitHub reports (table `server_reports`, see
`reporter` and `suite_reporter`): which ended runs and suites are due, held reports and their
hand-overs, and which are written."""

from __future__ import annotations

from evals_action.server import schema
from evals_action.server.store_base import Tables, storage_errors


class ReportTables(Tables):
    # --- the server's own GitHub reports ---------------------------------------------------

    def reports_due(self) -> list[schema.DueReport]:
        """Ended runs whose final report the server has yet to write, oldest first; a report
        held for its step (`report.hold`) only once the step handed it over or the hold ended."""
        with self._lock, storage_errors():
            rows = self._conn.execute(
                "SELECT runs.*, server_reports.comment_id AS handed_comment_id, "
                "server_reports.hand_overs AS hand_overs "
                "FROM runs JOIN server_reports USING (run_id) WHERE "
                "server_reports.done_at IS NULL AND runs.status NOT IN ('pending', 'running') "
                "AND runs.suite IS NULL "  # a suite's runs report together: `suites_due`
                "AND (server_reports.held_until IS NULL OR server_reports.hand_overs > 0 "
                "OR server_reports.held_until <= ?) ORDER BY runs.created_at",
                (self._clock(),),
            ).fetchall()
        return [
            schema.DueReport(
                row=schema.run_row(r), comment_id=r["handed_comment_id"], hand_overs=r["hand_overs"]
            )
            for r in rows
        ]

    def next_hold_end(self) -> float | None:
        """When the first held report of an ended run falls due without its hand-over."""
        with self._lock, storage_errors():
            found = self._conn.execute(
                "SELECT MIN(server_reports.held_until) FROM server_reports JOIN runs "
                "USING (run_id) WHERE server_reports.done_at IS NULL "
                "AND server_reports.hand_overs = 0 AND server_reports.held_until IS NOT NULL "
                "AND runs.status NOT IN ('pending', 'running') AND runs.suite IS NULL"
            ).fetchone()[0]
        return None if found is None else float(found)

    def hand_over(self, *, run_id: str, comment_id: int | None) -> bool:
        """The step wrote its pending status and comment: the report is the server's now (due
        again if it was written already). False when the run asked for no report."""
        with self._transaction() as conn:
            changed = conn.execute(
                "UPDATE server_reports SET hand_overs = hand_overs + 1, comment_id = ?, "
                "done_at = NULL WHERE run_id = ?",
                (comment_id, run_id),
            ).rowcount
        return bool(changed)

    def report_done(self, *, run_id: str, hand_overs: int) -> None:
        """The final report was written (or ended in `error`): not due any more, unless a
        hand-over came while it was being written (then it is written again)."""
        with self._transaction() as conn:
            conn.execute(
                "UPDATE server_reports SET done_at = ? WHERE run_id = ? AND hand_overs = ?",
                (self._clock(), run_id, hand_overs),
            )

    # --- a suite's report (`suite_reporter`): once every run of the suite ended ---------------

    def suites_due(self) -> list[str]:
        """Suites whose runs asked the server to report, all ended, with a report not written
        yet, and none held for the step's hand-over any more; oldest first."""
        with self._lock, storage_errors():
            rows = self._conn.execute(
                _SUITES + "AND (MAX(CASE WHEN sr.hand_overs = 0 THEN sr.held_until END) IS NULL "
                "OR MAX(CASE WHEN sr.hand_overs = 0 THEN sr.held_until END) <= ?) "
                "ORDER BY MIN(runs.created_at)",
                (self._clock(),),
            ).fetchall()
        return [str(r["suite"]) for r in rows]

    def next_suite_hold_end(self) -> float | None:
        """When the first suite whose runs all ended falls due without its hand-over."""
        with self._lock, storage_errors():
            rows = self._conn.execute(_SUITES).fetchall()
        ends = [r["held"] for r in rows if r["held"] is not None]
        return float(min(ends)) if ends else None

    def suite_reports(self, *, suite: str) -> list[schema.DueReport]:
        """Every run of the suite that asked the server to report, oldest first, with the
        comment its step handed over and the hand-overs counted."""
        with self._lock, storage_errors():
            rows = self._conn.execute(
                "SELECT runs.*, sr.comment_id AS handed_comment_id, sr.hand_overs AS hand_overs "
                "FROM runs JOIN server_reports AS sr USING (run_id) WHERE runs.suite = ? "
                "ORDER BY runs.created_at, runs.rowid",
                (suite,),
            ).fetchall()
        return [
            schema.DueReport(
                row=schema.run_row(r), comment_id=r["handed_comment_id"], hand_overs=r["hand_overs"]
            )
            for r in rows
        ]


# Suites with a report not written yet whose runs all ended, with the latest hold of a run not
# handed over (`held`, NULL when none is held); a HAVING clause the callers extend.
_SUITES = (
    "SELECT runs.suite AS suite, MAX(CASE WHEN sr.hand_overs = 0 THEN sr.held_until END) AS held "
    "FROM runs JOIN server_reports AS sr USING (run_id) WHERE runs.suite IN ("
    "SELECT runs.suite FROM runs JOIN server_reports USING (run_id) "
    "WHERE server_reports.done_at IS NULL AND runs.suite IS NOT NULL) "
    "GROUP BY runs.suite HAVING SUM(runs.status IN ('pending', 'running')) = 0 "
)
