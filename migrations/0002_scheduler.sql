ALTER TABLE `runs` ADD `attempts` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `runs_active` ON `runs` (`goal_id`,`status`) WHERE status IN ('pending', 'running');