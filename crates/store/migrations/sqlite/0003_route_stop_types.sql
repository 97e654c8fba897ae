-- Custom action names that park on this route even with stop: false (JSON array of strings).
ALTER TABLE routes ADD COLUMN stop_types TEXT NOT NULL DEFAULT '[]';
