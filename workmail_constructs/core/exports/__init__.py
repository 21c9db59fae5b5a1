"""Mailbox exports at the scale of an organization: which mailboxes there are, the export jobs
already run, a scheduler that keeps the service's limits, a journal that makes a run
resumable, the check of each finished export, and the report.

WorkMail's one documented way to take mail out is the mailbox export job (Administrator
Guide, "Exporting mailbox content"): up to 10 run at once per organization, and a mailbox can
be exported once every 24 hours.
"""
