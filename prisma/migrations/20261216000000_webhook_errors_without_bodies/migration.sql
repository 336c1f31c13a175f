-- Until now a failed webhook delivery kept the start of the receiver's answer in last_error
-- ("HTTP 500: <up to 500 bytes of body>"), and network failures by their cause ("fetch failed:
-- ECONNREFUSED", "no answer within 10000 ms"). The first let a workspace owner read what an
-- internal service answered; the second told open, closed and filtered ports apart. Keep only
-- what is stored from now on: "HTTP <status>", or "no answer" for a try without one.
-- "not sent: the webhook is disabled" (a dropped delivery) and the new short errors stay.
UPDATE "webhooks"
SET "last_error" = CASE WHEN "last_error" ~ '^HTTP [0-9]{3}' THEN substring("last_error" from '^HTTP [0-9]{3}') ELSE 'no answer' END
WHERE "last_error" IS NOT NULL
  AND "last_error" !~ '^HTTP [0-9]{3}$'
  AND "last_error" NOT IN ('no answer', 'address not allowed', 'not sent: the webhook is disabled');

UPDATE "webhook_deliveries"
SET "last_error" = CASE WHEN "last_error" ~ '^HTTP [0-9]{3}' THEN substring("last_error" from '^HTTP [0-9]{3}') ELSE 'no answer' END
WHERE "last_error" IS NOT NULL
  AND "last_error" !~ '^HTTP [0-9]{3}$'
  AND "last_error" NOT IN ('no answer', 'address not allowed', 'not sent: the webhook is disabled');
