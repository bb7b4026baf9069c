ALTER TABLE `runs` ADD `notify_claimed_at` integer;--> statement-breakpoint
-- A claim in flight was notified_at = -claimedAt: it moves to its own column; notified_at is the settled time only.
UPDATE `runs` SET `notify_claimed_at` = -`notified_at`, `notified_at` = NULL WHERE `notified_at` < 0;
