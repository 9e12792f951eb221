-- The target group's name as the group list had it when the job was created, so that a job's
-- page, the recent jobs list and its audit row can name the group before the list is read again
-- (right after a restart, or when a failing groups/get keeps it from loading). NULL for jobs
-- created before this column, and when the list had no name for the group: they fall back to the
-- id alone, as before.
ALTER TABLE jobs ADD COLUMN to_group_name TEXT;
