CREATE TABLE `goal_triggers` (
	`goal_id` text PRIMARY KEY NOT NULL,
	`hook_id` text NOT NULL,
	`secret` text,
	`enabled_at` integer,
	`secret_created_at` integer,
	`last_fired_at` integer,
	`window_start` integer DEFAULT 0 NOT NULL,
	`window_count` integer DEFAULT 0 NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`goal_id`) REFERENCES `goals`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `goal_triggers_hook_id_unique` ON `goal_triggers` (`hook_id`);--> statement-breakpoint
ALTER TABLE `runs` ADD `delivery_id` text;--> statement-breakpoint
ALTER TABLE `runs` ADD `delivery_event` text;--> statement-breakpoint
CREATE UNIQUE INDEX `runs_goal_delivery` ON `runs` (`goal_id`,`delivery_id`);