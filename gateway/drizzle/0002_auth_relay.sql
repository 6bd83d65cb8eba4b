CREATE TABLE "relay_usage" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "relay_usage_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"patient" text NOT NULL,
	"action" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"tx_hash" text,
	CONSTRAINT "relay_usage_patient_format" CHECK ("relay_usage"."patient" ~ '^0x[0-9a-f]{40}$')
);
--> statement-breakpoint
CREATE TABLE "siwe_nonces" (
	"nonce" text PRIMARY KEY NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"expires_at" timestamp (3) with time zone NOT NULL,
	"used_at" timestamp (3) with time zone,
	"used_by" text,
	CONSTRAINT "siwe_nonces_format" CHECK ("siwe_nonces"."nonce" ~ '^[A-Za-z0-9]{16,64}$'),
	CONSTRAINT "siwe_nonces_expiry_after_creation" CHECK ("siwe_nonces"."expires_at" > "siwe_nonces"."created_at")
);
--> statement-breakpoint
ALTER TABLE "link_codes" ADD COLUMN "kind" text DEFAULT 'link' NOT NULL;--> statement-breakpoint
CREATE INDEX "relay_usage_patient_idx" ON "relay_usage" USING btree ("patient","created_at");--> statement-breakpoint
CREATE INDEX "relay_usage_created_idx" ON "relay_usage" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "siwe_nonces_expires_idx" ON "siwe_nonces" USING btree ("expires_at");--> statement-breakpoint
ALTER TABLE "link_codes" ADD CONSTRAINT "link_codes_kind" CHECK ("link_codes"."kind" IN ('link', 'relink'));