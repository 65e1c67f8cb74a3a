-- The schema create_all made at commit 9d50a3e (before migrations; decision 0004), from
-- sqlite_master. tests/test_schema.py upgrades a database made from it.
CREATE TABLE "case" (
	id INTEGER NOT NULL,
	ref VARCHAR NOT NULL,
	stage VARCHAR NOT NULL,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL,
	source VARCHAR NOT NULL,
	referrer VARCHAR NOT NULL,
	referring_agency VARCHAR,
	incident_date DATE,
	la_aware_date DATE,
	outcome VARCHAR,
	abuse_neglect VARCHAR,
	legal_status VARCHAR,
	age_band VARCHAR,
	agencies_involved JSON,
	parallel_processes JSON,
	media_interest VARCHAR,
	missing JSON,
	sin_submitted_at DATETIME,
	decision VARCHAR,
	decision_at DATETIME,
	decision_rationale VARCHAR,
	route VARCHAR,
	closed_reason VARCHAR,
	terms JSON,
	slack_channel VARCHAR,
	slack_ts VARCHAR,
	PRIMARY KEY (id)
);
CREATE INDEX ix_case_stage ON "case" (stage);
CREATE UNIQUE INDEX ix_case_ref ON "case" (ref);
CREATE TABLE refcounter (
	prefix VARCHAR NOT NULL,
	year INTEGER NOT NULL,
	last INTEGER NOT NULL,
	PRIMARY KEY (prefix, year)
);
CREATE TABLE chairabsence (
	id INTEGER NOT NULL,
	starts_at DATETIME NOT NULL,
	ends_at DATETIME NOT NULL,
	delegate VARCHAR,
	created_by VARCHAR NOT NULL,
	created_at DATETIME NOT NULL,
	cancelled_at DATETIME,
	cancelled_by VARCHAR,
	PRIMARY KEY (id)
);
CREATE TABLE agencyrequest (
	id INTEGER NOT NULL,
	case_id INTEGER NOT NULL,
	agency VARCHAR NOT NULL,
	kind VARCHAR NOT NULL,
	status VARCHAR NOT NULL,
	sent_at DATETIME NOT NULL,
	due_at DATETIME NOT NULL,
	returned_at DATETIME,
	returned_via VARCHAR,
	closed_reason VARCHAR,
	chases INTEGER NOT NULL,
	escalated_at DATETIME,
	last_auto_reply_at DATETIME,
	bounced_at DATETIME,
	message_id VARCHAR,
	named_by VARCHAR,
	PRIMARY KEY (id),
	UNIQUE (case_id, agency, kind),
	FOREIGN KEY(case_id) REFERENCES "case" (id)
);
CREATE INDEX ix_agencyrequest_case_id ON agencyrequest (case_id);
CREATE INDEX ix_agencyrequest_message_id ON agencyrequest (message_id);
CREATE TABLE event (
	id INTEGER NOT NULL,
	case_id INTEGER,
	at DATETIME NOT NULL,
	actor VARCHAR NOT NULL,
	kind VARCHAR NOT NULL,
	detail JSON,
	PRIMARY KEY (id),
	FOREIGN KEY(case_id) REFERENCES "case" (id)
);
CREATE INDEX ix_event_case_id ON event (case_id);
CREATE TABLE publication (
	case_id INTEGER NOT NULL,
	embargoed_at DATETIME,
	embargo_reason VARCHAR,
	publication_date DATE,
	published_at DATETIME,
	authorised_agencies JSON,
	PRIMARY KEY (case_id),
	FOREIGN KEY(case_id) REFERENCES "case" (id)
);
CREATE TABLE deadline (
	id INTEGER NOT NULL,
	case_id INTEGER NOT NULL,
	request_id INTEGER,
	kind VARCHAR NOT NULL,
	anchor_at DATETIME NOT NULL,
	due_at DATETIME NOT NULL,
	met_at DATETIME,
	cancelled_at DATETIME,
	step INTEGER NOT NULL,
	next_action_at DATETIME,
	PRIMARY KEY (id),
	FOREIGN KEY(case_id) REFERENCES "case" (id),
	FOREIGN KEY(request_id) REFERENCES agencyrequest (id)
);
CREATE INDEX ix_deadline_request_id ON deadline (request_id);
CREATE INDEX ix_deadline_due_action ON deadline (next_action_at);
CREATE INDEX ix_deadline_case_id ON deadline (case_id);
CREATE TABLE outboxmessage (
	id INTEGER NOT NULL,
	idempotency_key VARCHAR NOT NULL,
	kind VARCHAR NOT NULL,
	case_id INTEGER,
	request_id INTEGER,
	"to" JSON,
	cc JSON,
	subject VARCHAR NOT NULL,
	body_text VARCHAR NOT NULL,
	body_html VARCHAR,
	message_id VARCHAR NOT NULL,
	in_reply_to VARCHAR,
	"references" VARCHAR,
	status VARCHAR NOT NULL,
	attempts INTEGER NOT NULL,
	created_at DATETIME NOT NULL,
	next_attempt_at DATETIME NOT NULL,
	claimed_at DATETIME,
	sent_at DATETIME,
	last_error VARCHAR,
	PRIMARY KEY (id),
	UNIQUE (idempotency_key),
	FOREIGN KEY(case_id) REFERENCES "case" (id),
	FOREIGN KEY(request_id) REFERENCES agencyrequest (id)
);
CREATE UNIQUE INDEX ix_outboxmessage_message_id ON outboxmessage (message_id);
CREATE INDEX ix_outbox_pending ON outboxmessage (status, next_attempt_at);
CREATE INDEX ix_outboxmessage_case_id ON outboxmessage (case_id);
CREATE INDEX ix_outbox_claimed ON outboxmessage (status, claimed_at);
CREATE TABLE inboundmessage (
	id INTEGER NOT NULL,
	message_id VARCHAR NOT NULL,
	mailbox VARCHAR NOT NULL,
	received_at DATETIME NOT NULL,
	from_addr VARCHAR NOT NULL,
	classification VARCHAR NOT NULL,
	case_id INTEGER,
	agency VARCHAR,
	request_id INTEGER,
	triage_status VARCHAR,
	triage_reason VARCHAR,
	raw BLOB NOT NULL,
	PRIMARY KEY (id),
	UNIQUE (message_id),
	FOREIGN KEY(case_id) REFERENCES "case" (id),
	FOREIGN KEY(request_id) REFERENCES agencyrequest (id)
);
CREATE INDEX ix_inboundmessage_case_id ON inboundmessage (case_id);
CREATE INDEX ix_inboundmessage_triage_status ON inboundmessage (triage_status);
CREATE TABLE attachment (
	id INTEGER NOT NULL,
	inbound_id INTEGER NOT NULL,
	stored_name VARCHAR,
	display_name VARCHAR NOT NULL,
	content_type VARCHAR NOT NULL,
	size INTEGER NOT NULL,
	rejected_reason VARCHAR,
	PRIMARY KEY (id),
	FOREIGN KEY(inbound_id) REFERENCES inboundmessage (id)
);
CREATE INDEX ix_attachment_inbound_id ON attachment (inbound_id);
CREATE TABLE mediaenquiry (
	id INTEGER NOT NULL,
	ref VARCHAR NOT NULL,
	received_at DATETIME NOT NULL,
	source VARCHAR NOT NULL,
	raised_by VARCHAR NOT NULL,
	raising_agency VARCHAR,
	outlet VARCHAR NOT NULL,
	journalist VARCHAR NOT NULL,
	contact VARCHAR NOT NULL,
	journalist_deadline DATETIME,
	subject VARCHAR NOT NULL,
	case_id INTEGER,
	subject_agency VARCHAR,
	summary VARCHAR NOT NULL,
	route VARCHAR NOT NULL,
	routing JSON,
	status VARCHAR NOT NULL,
	acknowledged_at DATETIME,
	acknowledged_by VARCHAR,
	responded_at DATETIME,
	spoke VARCHAR,
	closed_at DATETIME,
	closed_reason VARCHAR,
	alerts_repeated INTEGER NOT NULL,
	reminders_sent INTEGER NOT NULL,
	next_action_at DATETIME,
	inbound_id INTEGER,
	slack_channel VARCHAR,
	slack_ts VARCHAR,
	slack_posted_at DATETIME,
	PRIMARY KEY (id),
	FOREIGN KEY(case_id) REFERENCES "case" (id),
	FOREIGN KEY(inbound_id) REFERENCES inboundmessage (id)
);
CREATE UNIQUE INDEX ix_mediaenquiry_ref ON mediaenquiry (ref);
CREATE INDEX ix_mediaenquiry_case_id ON mediaenquiry (case_id);
CREATE INDEX ix_media_next_action ON mediaenquiry (next_action_at);
CREATE TABLE mediastatement (
	id INTEGER NOT NULL,
	enquiry_id INTEGER NOT NULL,
	version INTEGER NOT NULL,
	kind VARCHAR NOT NULL,
	text VARCHAR NOT NULL,
	status VARCHAR NOT NULL,
	drafted_by VARCHAR NOT NULL,
	drafted_at DATETIME NOT NULL,
	approvals JSON,
	approved_at DATETIME,
	released_by VARCHAR,
	released_at DATETIME,
	released_to VARCHAR,
	PRIMARY KEY (id),
	UNIQUE (enquiry_id, version),
	FOREIGN KEY(enquiry_id) REFERENCES mediaenquiry (id)
);
CREATE INDEX ix_mediastatement_enquiry_id ON mediastatement (enquiry_id);
