-- The schema create_all made at commit 9d50a3e (before migrations; decision 0004), dumped by
-- pg_dump --schema-only from PostgreSQL 15. tests/test_schema.py upgrades a database made from it.
SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

CREATE TABLE public.agencyrequest (
    id integer NOT NULL,
    case_id integer NOT NULL,
    agency character varying NOT NULL,
    kind character varying NOT NULL,
    status character varying NOT NULL,
    sent_at timestamp without time zone NOT NULL,
    due_at timestamp without time zone NOT NULL,
    returned_at timestamp without time zone,
    returned_via character varying,
    closed_reason character varying,
    chases integer NOT NULL,
    escalated_at timestamp without time zone,
    last_auto_reply_at timestamp without time zone,
    bounced_at timestamp without time zone,
    message_id character varying,
    named_by character varying
);

CREATE SEQUENCE public.agencyrequest_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.agencyrequest_id_seq OWNED BY public.agencyrequest.id;

CREATE TABLE public.attachment (
    id integer NOT NULL,
    inbound_id integer NOT NULL,
    stored_name character varying,
    display_name character varying NOT NULL,
    content_type character varying NOT NULL,
    size integer NOT NULL,
    rejected_reason character varying
);

CREATE SEQUENCE public.attachment_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.attachment_id_seq OWNED BY public.attachment.id;

CREATE TABLE public."case" (
    id integer NOT NULL,
    ref character varying NOT NULL,
    stage character varying NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    source character varying NOT NULL,
    referrer character varying NOT NULL,
    referring_agency character varying,
    incident_date date,
    la_aware_date date,
    outcome character varying,
    abuse_neglect character varying,
    legal_status character varying,
    age_band character varying,
    agencies_involved json,
    parallel_processes json,
    media_interest character varying,
    missing json,
    sin_submitted_at timestamp without time zone,
    decision character varying,
    decision_at timestamp without time zone,
    decision_rationale character varying,
    route character varying,
    closed_reason character varying,
    terms json,
    slack_channel character varying,
    slack_ts character varying
);

CREATE SEQUENCE public.case_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.case_id_seq OWNED BY public."case".id;

CREATE TABLE public.chairabsence (
    id integer NOT NULL,
    starts_at timestamp without time zone NOT NULL,
    ends_at timestamp without time zone NOT NULL,
    delegate character varying,
    created_by character varying NOT NULL,
    created_at timestamp without time zone NOT NULL,
    cancelled_at timestamp without time zone,
    cancelled_by character varying
);

CREATE SEQUENCE public.chairabsence_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.chairabsence_id_seq OWNED BY public.chairabsence.id;

CREATE TABLE public.deadline (
    id integer NOT NULL,
    case_id integer NOT NULL,
    request_id integer,
    kind character varying NOT NULL,
    anchor_at timestamp without time zone NOT NULL,
    due_at timestamp without time zone NOT NULL,
    met_at timestamp without time zone,
    cancelled_at timestamp without time zone,
    step integer NOT NULL,
    next_action_at timestamp without time zone
);

CREATE SEQUENCE public.deadline_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.deadline_id_seq OWNED BY public.deadline.id;

CREATE TABLE public.event (
    id integer NOT NULL,
    case_id integer,
    at timestamp without time zone NOT NULL,
    actor character varying NOT NULL,
    kind character varying NOT NULL,
    detail json
);

CREATE SEQUENCE public.event_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.event_id_seq OWNED BY public.event.id;

CREATE TABLE public.inboundmessage (
    id integer NOT NULL,
    message_id character varying NOT NULL,
    mailbox character varying NOT NULL,
    received_at timestamp without time zone NOT NULL,
    from_addr character varying NOT NULL,
    classification character varying NOT NULL,
    case_id integer,
    agency character varying,
    request_id integer,
    triage_status character varying,
    triage_reason character varying,
    raw bytea NOT NULL
);

CREATE SEQUENCE public.inboundmessage_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.inboundmessage_id_seq OWNED BY public.inboundmessage.id;

CREATE TABLE public.mediaenquiry (
    id integer NOT NULL,
    ref character varying NOT NULL,
    received_at timestamp without time zone NOT NULL,
    source character varying NOT NULL,
    raised_by character varying NOT NULL,
    raising_agency character varying,
    outlet character varying NOT NULL,
    journalist character varying NOT NULL,
    contact character varying NOT NULL,
    journalist_deadline timestamp without time zone,
    subject character varying NOT NULL,
    case_id integer,
    subject_agency character varying,
    summary character varying NOT NULL,
    route character varying NOT NULL,
    routing json,
    status character varying NOT NULL,
    acknowledged_at timestamp without time zone,
    acknowledged_by character varying,
    responded_at timestamp without time zone,
    spoke character varying,
    closed_at timestamp without time zone,
    closed_reason character varying,
    alerts_repeated integer NOT NULL,
    reminders_sent integer NOT NULL,
    next_action_at timestamp without time zone,
    inbound_id integer,
    slack_channel character varying,
    slack_ts character varying,
    slack_posted_at timestamp without time zone
);

CREATE SEQUENCE public.mediaenquiry_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.mediaenquiry_id_seq OWNED BY public.mediaenquiry.id;

CREATE TABLE public.mediastatement (
    id integer NOT NULL,
    enquiry_id integer NOT NULL,
    version integer NOT NULL,
    kind character varying NOT NULL,
    text character varying NOT NULL,
    status character varying NOT NULL,
    drafted_by character varying NOT NULL,
    drafted_at timestamp without time zone NOT NULL,
    approvals json,
    approved_at timestamp without time zone,
    released_by character varying,
    released_at timestamp without time zone,
    released_to character varying
);

CREATE SEQUENCE public.mediastatement_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.mediastatement_id_seq OWNED BY public.mediastatement.id;

CREATE TABLE public.outboxmessage (
    id integer NOT NULL,
    idempotency_key character varying NOT NULL,
    kind character varying NOT NULL,
    case_id integer,
    request_id integer,
    "to" json,
    cc json,
    subject character varying NOT NULL,
    body_text character varying NOT NULL,
    body_html character varying,
    message_id character varying NOT NULL,
    in_reply_to character varying,
    "references" character varying,
    status character varying NOT NULL,
    attempts integer NOT NULL,
    created_at timestamp without time zone NOT NULL,
    next_attempt_at timestamp without time zone NOT NULL,
    claimed_at timestamp without time zone,
    sent_at timestamp without time zone,
    last_error character varying
);

CREATE SEQUENCE public.outboxmessage_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.outboxmessage_id_seq OWNED BY public.outboxmessage.id;

CREATE TABLE public.publication (
    case_id integer NOT NULL,
    embargoed_at timestamp without time zone,
    embargo_reason character varying,
    publication_date date,
    published_at timestamp without time zone,
    authorised_agencies json
);

CREATE TABLE public.refcounter (
    prefix character varying NOT NULL,
    year integer NOT NULL,
    last integer NOT NULL
);

ALTER TABLE ONLY public.agencyrequest ALTER COLUMN id SET DEFAULT nextval('public.agencyrequest_id_seq'::regclass);

ALTER TABLE ONLY public.attachment ALTER COLUMN id SET DEFAULT nextval('public.attachment_id_seq'::regclass);

ALTER TABLE ONLY public."case" ALTER COLUMN id SET DEFAULT nextval('public.case_id_seq'::regclass);

ALTER TABLE ONLY public.chairabsence ALTER COLUMN id SET DEFAULT nextval('public.chairabsence_id_seq'::regclass);

ALTER TABLE ONLY public.deadline ALTER COLUMN id SET DEFAULT nextval('public.deadline_id_seq'::regclass);

ALTER TABLE ONLY public.event ALTER COLUMN id SET DEFAULT nextval('public.event_id_seq'::regclass);

ALTER TABLE ONLY public.inboundmessage ALTER COLUMN id SET DEFAULT nextval('public.inboundmessage_id_seq'::regclass);

ALTER TABLE ONLY public.mediaenquiry ALTER COLUMN id SET DEFAULT nextval('public.mediaenquiry_id_seq'::regclass);

ALTER TABLE ONLY public.mediastatement ALTER COLUMN id SET DEFAULT nextval('public.mediastatement_id_seq'::regclass);

ALTER TABLE ONLY public.outboxmessage ALTER COLUMN id SET DEFAULT nextval('public.outboxmessage_id_seq'::regclass);

ALTER TABLE ONLY public.agencyrequest
    ADD CONSTRAINT agencyrequest_case_id_agency_kind_key UNIQUE (case_id, agency, kind);

ALTER TABLE ONLY public.agencyrequest
    ADD CONSTRAINT agencyrequest_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.attachment
    ADD CONSTRAINT attachment_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public."case"
    ADD CONSTRAINT case_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.chairabsence
    ADD CONSTRAINT chairabsence_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.deadline
    ADD CONSTRAINT deadline_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.event
    ADD CONSTRAINT event_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.inboundmessage
    ADD CONSTRAINT inboundmessage_message_id_key UNIQUE (message_id);

ALTER TABLE ONLY public.inboundmessage
    ADD CONSTRAINT inboundmessage_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.mediaenquiry
    ADD CONSTRAINT mediaenquiry_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.mediastatement
    ADD CONSTRAINT mediastatement_enquiry_id_version_key UNIQUE (enquiry_id, version);

ALTER TABLE ONLY public.mediastatement
    ADD CONSTRAINT mediastatement_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.outboxmessage
    ADD CONSTRAINT outboxmessage_idempotency_key_key UNIQUE (idempotency_key);

ALTER TABLE ONLY public.outboxmessage
    ADD CONSTRAINT outboxmessage_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.publication
    ADD CONSTRAINT publication_pkey PRIMARY KEY (case_id);

ALTER TABLE ONLY public.refcounter
    ADD CONSTRAINT refcounter_pkey PRIMARY KEY (prefix, year);

CREATE INDEX ix_agencyrequest_case_id ON public.agencyrequest USING btree (case_id);

CREATE INDEX ix_agencyrequest_message_id ON public.agencyrequest USING btree (message_id);

CREATE INDEX ix_attachment_inbound_id ON public.attachment USING btree (inbound_id);

CREATE UNIQUE INDEX ix_case_ref ON public."case" USING btree (ref);

CREATE INDEX ix_case_stage ON public."case" USING btree (stage);

CREATE INDEX ix_deadline_case_id ON public.deadline USING btree (case_id);

CREATE INDEX ix_deadline_due_action ON public.deadline USING btree (next_action_at);

CREATE INDEX ix_deadline_request_id ON public.deadline USING btree (request_id);

CREATE INDEX ix_event_case_id ON public.event USING btree (case_id);

CREATE INDEX ix_inboundmessage_case_id ON public.inboundmessage USING btree (case_id);

CREATE INDEX ix_inboundmessage_triage_status ON public.inboundmessage USING btree (triage_status);

CREATE INDEX ix_media_next_action ON public.mediaenquiry USING btree (next_action_at);

CREATE INDEX ix_mediaenquiry_case_id ON public.mediaenquiry USING btree (case_id);

CREATE UNIQUE INDEX ix_mediaenquiry_ref ON public.mediaenquiry USING btree (ref);

CREATE INDEX ix_mediastatement_enquiry_id ON public.mediastatement USING btree (enquiry_id);

CREATE INDEX ix_outbox_claimed ON public.outboxmessage USING btree (status, claimed_at);

CREATE INDEX ix_outbox_pending ON public.outboxmessage USING btree (status, next_attempt_at);

CREATE INDEX ix_outboxmessage_case_id ON public.outboxmessage USING btree (case_id);

CREATE UNIQUE INDEX ix_outboxmessage_message_id ON public.outboxmessage USING btree (message_id);

ALTER TABLE ONLY public.agencyrequest
    ADD CONSTRAINT agencyrequest_case_id_fkey FOREIGN KEY (case_id) REFERENCES public."case"(id);

ALTER TABLE ONLY public.attachment
    ADD CONSTRAINT attachment_inbound_id_fkey FOREIGN KEY (inbound_id) REFERENCES public.inboundmessage(id);

ALTER TABLE ONLY public.deadline
    ADD CONSTRAINT deadline_case_id_fkey FOREIGN KEY (case_id) REFERENCES public."case"(id);

ALTER TABLE ONLY public.deadline
    ADD CONSTRAINT deadline_request_id_fkey FOREIGN KEY (request_id) REFERENCES public.agencyrequest(id);

ALTER TABLE ONLY public.event
    ADD CONSTRAINT event_case_id_fkey FOREIGN KEY (case_id) REFERENCES public."case"(id);

ALTER TABLE ONLY public.inboundmessage
    ADD CONSTRAINT inboundmessage_case_id_fkey FOREIGN KEY (case_id) REFERENCES public."case"(id);

ALTER TABLE ONLY public.inboundmessage
    ADD CONSTRAINT inboundmessage_request_id_fkey FOREIGN KEY (request_id) REFERENCES public.agencyrequest(id);

ALTER TABLE ONLY public.mediaenquiry
    ADD CONSTRAINT mediaenquiry_case_id_fkey FOREIGN KEY (case_id) REFERENCES public."case"(id);

ALTER TABLE ONLY public.mediaenquiry
    ADD CONSTRAINT mediaenquiry_inbound_id_fkey FOREIGN KEY (inbound_id) REFERENCES public.inboundmessage(id);

ALTER TABLE ONLY public.mediastatement
    ADD CONSTRAINT mediastatement_enquiry_id_fkey FOREIGN KEY (enquiry_id) REFERENCES public.mediaenquiry(id);

ALTER TABLE ONLY public.outboxmessage
    ADD CONSTRAINT outboxmessage_case_id_fkey FOREIGN KEY (case_id) REFERENCES public."case"(id);

ALTER TABLE ONLY public.outboxmessage
    ADD CONSTRAINT outboxmessage_request_id_fkey FOREIGN KEY (request_id) REFERENCES public.agencyrequest(id);

ALTER TABLE ONLY public.publication
    ADD CONSTRAINT publication_case_id_fkey FOREIGN KEY (case_id) REFERENCES public."case"(id);
