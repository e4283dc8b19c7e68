-- Alerts. An event is written in the same transaction as what it tells of (a run's end, a tick's expiry or
-- failure), or once by id (a run running long), so it exists exactly when the change committed. The dispatcher
-- claims new events (claimed_until: a lease another orchestrator waits out), decides who hears of each, and writes
-- its deliveries and notifications in one transaction with `dispatched`.
CREATE TABLE orchestrator_alert_events (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    -- succeeded, failed, cancelled, timed_out, tick_expired, tick_failed, running_long.
    kind TEXT NOT NULL,
    run_id TEXT,
    execution_date BIGINT,
    state TEXT,
    reason TEXT,
    occurred_at BIGINT NOT NULL,
    dispatched BOOLEAN NOT NULL,
    claimed_until BIGINT NOT NULL
);
CREATE INDEX orchestrator_alert_events_new ON orchestrator_alert_events (dispatched, occurred_at);
CREATE INDEX orchestrator_alert_events_project ON orchestrator_alert_events (project);

-- One per event and webhook: pending (due at next_at), delivered, or dead (its attempts ran out; retried by hand).
CREATE TABLE orchestrator_alert_deliveries (
    event_id TEXT NOT NULL,
    webhook TEXT NOT NULL,
    project TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_at BIGINT NOT NULL,
    -- A claim by one orchestrator: its token, and until when it holds (the request's timeout and some).
    claim TEXT,
    claimed_until BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT,
    PRIMARY KEY (event_id, webhook)
);
CREATE INDEX orchestrator_alert_deliveries_due ON orchestrator_alert_deliveries (state, next_at);
CREATE INDEX orchestrator_alert_deliveries_project ON orchestrator_alert_deliveries (project, created_at);

-- The portal's notifications: one per event and alerted user.
CREATE TABLE orchestrator_notifications (
    username TEXT NOT NULL,
    event_id TEXT NOT NULL,
    project TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    read_at BIGINT,
    PRIMARY KEY (username, event_id)
);
CREATE INDEX orchestrator_notifications_user ON orchestrator_notifications (username, created_at);
CREATE INDEX orchestrator_notifications_project ON orchestrator_notifications (project);
