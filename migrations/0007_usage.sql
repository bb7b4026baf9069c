CREATE TABLE `usage_months` (
	`scope` text NOT NULL,
	`month` text NOT NULL,
	`cost_nanos` integer DEFAULT 0 NOT NULL,
	`tokens` integer DEFAULT 0 NOT NULL,
	`notified_at` integer,
	PRIMARY KEY(`scope`, `month`)
);
--> statement-breakpoint
ALTER TABLE `runs` ADD `cached_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `runs` ADD `reasoning_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `runs` ADD `cost_nanos` integer DEFAULT 0;--> statement-breakpoint
ALTER TABLE `runs` ADD `model` text;--> statement-breakpoint
CREATE INDEX `runs_started_at` ON `runs` (`started_at`);--> statement-breakpoint
ALTER TABLE `steps` ADD `cached_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `steps` ADD `reasoning_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `steps` ADD `cost_nanos` integer;