-- One row per UTM source / medium / campaign: every event that carried UTM parameters, how many
-- were pageviews, distinct sessions ("sid") and users ("uid"), and the first and last time seen.
-- "payload ? 'utm'" is answered by the GIN index on payload.
-- Written for the default table events_json; change the FROM line if PG_TABLE names another.
CREATE OR REPLACE VIEW gotrack_utm_campaigns AS
SELECT payload->'utm'->>'source'                            AS source,
       payload->'utm'->>'medium'                            AS medium,
       payload->'utm'->>'campaign'                          AS campaign,
       count(*)                                             AS events,
       count(*) FILTER (WHERE payload->>'e' = 'pageview')   AS pageviews,
       count(DISTINCT payload->>'sid')                      AS sessions,
       count(DISTINCT payload->>'uid')                      AS users,
       min(ts)                                              AS first_seen,
       max(ts)                                              AS last_seen
FROM events_json
WHERE payload ? 'utm'
GROUP BY 1, 2, 3;
