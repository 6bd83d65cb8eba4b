CREATE TABLE "audit_events" (
	"seq" bigint PRIMARY KEY NOT NULL,
	"recorded_at" timestamp (3) with time zone NOT NULL,
	"patient_id" text,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL,
	"event" jsonb NOT NULL,
	CONSTRAINT "audit_events_hash_key" UNIQUE("hash"),
	CONSTRAINT "audit_events_seq_positive" CHECK ("audit_events"."seq" > 0),
	CONSTRAINT "audit_events_hash_format" CHECK ("audit_events"."hash" ~ '^[0-9a-f]{64}$' AND "audit_events"."prev_hash" ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
CREATE TABLE "keyring" (
	"id" smallint PRIMARY KEY DEFAULT 1 NOT NULL,
	"key_version" integer NOT NULL,
	"fingerprint" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"rotated_at" timestamp (3) with time zone,
	CONSTRAINT "keyring_singleton" CHECK ("keyring"."id" = 1),
	CONSTRAINT "keyring_version_positive" CHECK ("keyring"."key_version" > 0)
);
--> statement-breakpoint
CREATE TABLE "link_codes" (
	"code_hash" text PRIMARY KEY NOT NULL,
	"patient_id" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"expires_at" timestamp (3) with time zone NOT NULL,
	"used_at" timestamp (3) with time zone,
	"used_by" text,
	CONSTRAINT "link_codes_hash_format" CHECK ("link_codes"."code_hash" ~ '^[0-9a-f]{64}$'),
	CONSTRAINT "link_codes_expiry_after_creation" CHECK ("link_codes"."expires_at" > "link_codes"."created_at")
);
--> statement-breakpoint
CREATE TABLE "patient_keys" (
	"patient_id" text PRIMARY KEY NOT NULL,
	"wrapped_key" "bytea",
	"key_version" integer NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"erased_at" timestamp (3) with time zone,
	CONSTRAINT "patient_keys_erasure" CHECK (("patient_keys"."erased_at" IS NULL) = ("patient_keys"."wrapped_key" IS NOT NULL)),
	CONSTRAINT "patient_keys_version_positive" CHECK ("patient_keys"."key_version" > 0)
);
--> statement-breakpoint
CREATE TABLE "patient_wallets" (
	"did" text PRIMARY KEY NOT NULL,
	"patient_id" text NOT NULL,
	"linked_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "patient_wallets_did_format" CHECK ("patient_wallets"."did" ~ '^did:pkh:eip155:[0-9]{1,20}:0x[0-9a-fA-F]{40}$')
);
--> statement-breakpoint
CREATE TABLE "resources" (
	"resource_type" text NOT NULL,
	"id" text NOT NULL,
	"patient_id" text NOT NULL,
	"last_updated" timestamp (3) with time zone NOT NULL,
	"version" integer NOT NULL,
	"ciphertext" "bytea" NOT NULL,
	"iv" "bytea" NOT NULL,
	"auth_tag" "bytea" NOT NULL,
	CONSTRAINT "resources_pkey" PRIMARY KEY("resource_type","id"),
	CONSTRAINT "resources_id_format" CHECK ("resources"."id" ~ '^[A-Za-z0-9.-]{1,64}$'),
	CONSTRAINT "resources_version_positive" CHECK ("resources"."version" > 0),
	CONSTRAINT "resources_iv_length" CHECK (octet_length("resources"."iv") = 12),
	CONSTRAINT "resources_tag_length" CHECK (octet_length("resources"."auth_tag") = 16)
);
--> statement-breakpoint
ALTER TABLE "link_codes" ADD CONSTRAINT "link_codes_patient_id_patient_keys_patient_id_fk" FOREIGN KEY ("patient_id") REFERENCES "public"."patient_keys"("patient_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "patient_wallets" ADD CONSTRAINT "patient_wallets_patient_id_patient_keys_patient_id_fk" FOREIGN KEY ("patient_id") REFERENCES "public"."patient_keys"("patient_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "resources" ADD CONSTRAINT "resources_patient_id_patient_keys_patient_id_fk" FOREIGN KEY ("patient_id") REFERENCES "public"."patient_keys"("patient_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_events_patient_idx" ON "audit_events" USING btree ("patient_id","seq");--> statement-breakpoint
CREATE INDEX "link_codes_patient_idx" ON "link_codes" USING btree ("patient_id");--> statement-breakpoint
CREATE INDEX "patient_wallets_patient_idx" ON "patient_wallets" USING btree ("patient_id");--> statement-breakpoint
CREATE INDEX "resources_patient_idx" ON "resources" USING btree ("patient_id","resource_type","last_updated","id");--> statement-breakpoint
CREATE INDEX "resources_type_updated_idx" ON "resources" USING btree ("resource_type","last_updated","id");