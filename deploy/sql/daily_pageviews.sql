-- Pageviews per day and URL. Days are UTC days whatever the session's TimeZone.
-- sessions counts distinct "sid" values among those pageviews (pageviews without a sid are not sessions).
-- Written for the default table events_json; change the FROM line if PG_TABLE names another.
CREATE OR REPLACE VIEW gotrack_daily_pageviews AS
SELECT (ts AT TIME ZONE 'UTC')::date      AS day,
       payload->>'url'                    AS url,
       count(*)                           AS pageviews,
       count(DISTINCT payload->>'sid')    AS sessions
FROM events_json
WHERE payload->>'e' = 'pageview'
GROUP BY 1, 2;
