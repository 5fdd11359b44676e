"""Push (SYNC.md rules 3-6): one transaction, conflicts refuse everything, bad records are rejected by id
while the rest of the offline backlog lands.

``shape`` checks the body is a changes object, ``plan`` and ``server_owned`` decide per record what the push
asks for (write, delete, re-stamp, reject, conflict), ``service`` runs it through the one write path
(``diary.sync.writes.rows_apply``).
"""
