-- The daily SMS budget as a counter per local day. A claim locks its day's row, decides
-- against it and adds what it sends before committing, so notifiers running side by side
-- never together send more than the budget of non-critical messages.
CREATE TABLE sms_budget (
    day  date PRIMARY KEY,
    used integer NOT NULL DEFAULT 0 CHECK (used >= 0)
);
