-- Indexes for what the notifiers ask on every poll: has this subscriber been sent this
-- alert (escalation, resolved notices, acknowledging by reply), and how many messages went
-- out today (the daily budget). Without them each poll reads the recipient's whole history.
CREATE INDEX notifications_alert ON notifications (alert_id, subscriber_id, kind);
CREATE INDEX notifications_claimed ON notifications (claimed_at)
    WHERE state IN ('sending', 'sent', 'delivered');
