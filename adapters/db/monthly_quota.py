"""The monthly send count (`users.monthly_emails_sent`) and the month it counts for
(`users.monthly_emails_month`, migration 038): one take and one give-back for every send path.

The count is for one calendar month (UTC). A take in a later month than the one the count is
for starts the count afresh, in the same statement, so a send on the 1st at 00:05 is counted
for the new month whether or not the monthly reset has run yet; and the reset
(`retention/monthly_counters.py`) zeroes only counts of an earlier month, so it can run late or
twice without wiping a send counted after the month began. A give-back counts only against the
month it was taken in (after the month changed there is nothing of it left to give back).

A NULL month (a user who never sent since the column exists, or whose count an operator set
directly) is taken as the current one: the count is trusted, and the next reset dates it.
"""

from __future__ import annotations

from sqlalchemy import text

# `date_trunc('month', timezone('UTC', now()))` is the current month; a count dated before it
# is 0 for this month. One conditional UPDATE: the row lock serialises concurrent sends, and
# each re-checks the count it sees after the one before it committed. A NULL limit is no limit.
TAKE_QUOTA = text(
    """
    UPDATE users SET
        monthly_emails_sent = CASE
            WHEN monthly_emails_month < CAST(date_trunc('month', timezone('UTC', now())) AS date)
            THEN 0 ELSE COALESCE(monthly_emails_sent, 0) END + :count,
        monthly_emails_month = CAST(date_trunc('month', timezone('UTC', now())) AS date)
    WHERE id = :user_id
      AND (monthly_email_limit IS NULL
           OR CASE
                WHEN monthly_emails_month
                     < CAST(date_trunc('month', timezone('UTC', now())) AS date)
                THEN 0 ELSE COALESCE(monthly_emails_sent, 0) END + :count
              <= monthly_email_limit)
    RETURNING id
    """
)
# The room left this month, the user's row locked for the take that follows in the same
# transaction (a campaign claim sends what the month has room for). NO KEY UPDATE, the lock an
# UPDATE takes: FOR UPDATE would also wait for, and deadlock with, the key-share locks that
# inserting email_logs rows takes on the user through its foreign key.
LOCK_HEADROOM = text(
    """
    SELECT CASE WHEN monthly_email_limit IS NULL THEN NULL
                ELSE GREATEST(0, monthly_email_limit - CASE
                    WHEN monthly_emails_month
                         < CAST(date_trunc('month', timezone('UTC', now())) AS date)
                    THEN 0 ELSE COALESCE(monthly_emails_sent, 0) END) END AS headroom
    FROM users WHERE id = :user_id FOR NO KEY UPDATE
    """
)
GIVE_BACK_QUOTA = text(
    """
    UPDATE users SET monthly_emails_sent = GREATEST(0, COALESCE(monthly_emails_sent, 0) - :count)
    WHERE id = :user_id
      AND (monthly_emails_month IS NULL
           OR monthly_emails_month >= CAST(date_trunc('month', timezone('UTC', now())) AS date))
    """
)
