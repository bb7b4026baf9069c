CREATE TABLE `waits` (
	`id` text PRIMARY KEY NOT NULL,
	`run_id` text NOT NULL,
	`step_no` integer NOT NULL,
	`kind` text NOT NULL,
	`tool` text,
	`input` text,
	`question` text,
	`choices` text,
	`asked_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`outcome` text,
	`response` text,
	`decided_via` text,
	`decided_at` integer,
	`notice_at` integer,
	FOREIGN KEY (`run_id`) REFERENCES `runs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `waits_run` ON `waits` (`run_id`,`step_no`);--> statement-breakpoint
CREATE INDEX `waits_open_expiry` ON `waits` (`expires_at`) WHERE outcome IS NULL;--> statement-breakpoint
DROP INDEX `runs_active`;--> statement-breakpoint
ALTER TABLE `runs` ADD `plan` text;--> statement-breakpoint
CREATE INDEX `runs_active` ON `runs` (`goal_id`,`status`) WHERE status IN ('pending', 'running', 'waiting');