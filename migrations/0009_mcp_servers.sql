CREATE TABLE `mcp_servers` (
	`name` text PRIMARY KEY NOT NULL,
	`url` text NOT NULL,
	`header_names` text DEFAULT '[]' NOT NULL,
	`headers_sealed` text,
	`status` text NOT NULL,
	`last_error` text,
	`tools` text DEFAULT '[]' NOT NULL,
	`server_info` text,
	`refreshed_at` integer,
	`checked_at` integer NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
