ALTER TABLE "relay_usage" ADD COLUMN "budget" text DEFAULT 'shared' NOT NULL;--> statement-breakpoint
ALTER TABLE "relay_usage" ADD COLUMN "wei" numeric(78, 0) DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "relay_usage" ADD CONSTRAINT "relay_usage_budget" CHECK ("relay_usage"."budget" IN ('revocation', 'shared'));--> statement-breakpoint
ALTER TABLE "relay_usage" ADD CONSTRAINT "relay_usage_wei" CHECK ("relay_usage"."wei" >= 0);