CREATE TABLE "research_deliveries" (
	"study" text NOT NULL,
	"patient" text NOT NULL,
	"patient_id" text NOT NULL,
	"status" text NOT NULL,
	"reason" text,
	"tx_hash" text,
	"updated_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "research_deliveries_pkey" PRIMARY KEY("study","patient"),
	CONSTRAINT "research_deliveries_patient_format" CHECK ("research_deliveries"."patient" ~ '^0x[0-9a-f]{40}$'),
	CONSTRAINT "research_deliveries_status" CHECK ("research_deliveries"."status" IN ('reporting', 'paid', 'refused'))
);
--> statement-breakpoint
CREATE TABLE "research_studies" (
	"study" text PRIMARY KEY NOT NULL,
	"wrapped_key" "bytea" NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "research_studies_format" CHECK ("research_studies"."study" ~ '^0x[0-9a-f]{40}:[0-9]{1,78}$'),
	CONSTRAINT "research_studies_key_length" CHECK (octet_length("research_studies"."wrapped_key") = 60)
);
--> statement-breakpoint
ALTER TABLE "research_deliveries" ADD CONSTRAINT "research_deliveries_study_research_studies_study_fk" FOREIGN KEY ("study") REFERENCES "public"."research_studies"("study") ON DELETE no action ON UPDATE no action;