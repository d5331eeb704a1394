-- Unique sessions per UTC day: distinct "sid" values among that day's events (events without a sid
-- are left out). A session that crosses midnight UTC counts on both days. users counts distinct "uid".
-- Written for the default table events_json; change the FROM line if PG_TABLE names another.
CREATE OR REPLACE VIEW gotrack_daily_sessions AS
SELECT (ts AT TIME ZONE 'UTC')::date      AS day,
       count(DISTINCT payload->>'sid')    AS sessions,
       count(DISTINCT payload->>'uid')    AS users,
       count(*)                           AS events
FROM events_json
WHERE payload ? 'sid'
GROUP BY 1;
