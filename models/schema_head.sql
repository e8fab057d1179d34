-- waveqda schema at revision 0017_codings_index (written by `python -m models.schema_snapshot`; do not edit)
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
CREATE TABLE settings (
	"key" VARCHAR(100) NOT NULL, 
	value JSON NOT NULL, 
	CONSTRAINT pk_settings PRIMARY KEY ("key")
);
CREATE TABLE timepoints (
	id INTEGER NOT NULL, 
	"key" VARCHAR(40) NOT NULL, 
	label VARCHAR(200) NOT NULL, 
	position INTEGER NOT NULL, 
	CONSTRAINT pk_timepoints PRIMARY KEY (id), 
	CONSTRAINT uq_timepoints_key UNIQUE ("key")
);
CREATE TABLE participant_attributes (
	participant_id INTEGER NOT NULL, 
	attribute_id INTEGER NOT NULL, 
	value TEXT, 
	CONSTRAINT pk_participant_attributes PRIMARY KEY (participant_id, attribute_id), 
	CONSTRAINT fk_participant_attributes_attribute_id_attribute_definitions FOREIGN KEY(attribute_id) REFERENCES attribute_definitions (id), 
	CONSTRAINT fk_participant_attributes_participant_id_participants FOREIGN KEY(participant_id) REFERENCES participants (id)
);
CREATE TABLE sentences (
	id INTEGER NOT NULL, 
	transcript_id INTEGER NOT NULL, 
	turn_index INTEGER NOT NULL, 
	start INTEGER NOT NULL, 
	"end" INTEGER NOT NULL, 
	CONSTRAINT pk_sentences PRIMARY KEY (id), 
	CONSTRAINT fk_sentences_transcript_id_transcripts FOREIGN KEY(transcript_id) REFERENCES transcripts (id) ON DELETE CASCADE
);
CREATE INDEX ix_sentences_transcript_start ON sentences (transcript_id, start);
CREATE TABLE turns (
	id INTEGER NOT NULL, 
	transcript_id INTEGER NOT NULL, 
	"index" INTEGER NOT NULL, 
	speaker VARCHAR(200) NOT NULL, 
	role VARCHAR(12) NOT NULL, 
	start INTEGER NOT NULL, 
	"end" INTEGER NOT NULL, 
	timestamp VARCHAR(20), 
	CONSTRAINT pk_turns PRIMARY KEY (id), 
	CONSTRAINT ck_turns_role CHECK (role IN ('interviewer','participant','other')), 
	CONSTRAINT ck_turns_span CHECK (start <= "end"), 
	CONSTRAINT fk_turns_transcript_id_transcripts FOREIGN KEY(transcript_id) REFERENCES transcripts (id) ON DELETE CASCADE, 
	CONSTRAINT transcript_index UNIQUE (transcript_id, "index")
);
CREATE VIRTUAL TABLE search_index USING fts5(text, transcript_id UNINDEXED, tokenize = 'unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE search_vocab USING fts5vocab(search_index, 'row');
CREATE TABLE "participants" (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	uuid VARCHAR(36) NOT NULL, 
	study_id VARCHAR(100) NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT uq_participants_study_id UNIQUE (study_id), 
	CONSTRAINT uq_participants_uuid UNIQUE (uuid)
);
CREATE TABLE "attribute_definitions" (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	uuid VARCHAR(36) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	type VARCHAR(10) NOT NULL, 
	choices JSON, 
	position INTEGER NOT NULL, 
	CONSTRAINT ck_attribute_definitions_type CHECK (type IN ('text','number','date','choice')), 
	CONSTRAINT uq_attribute_definitions_name UNIQUE (name), 
	CONSTRAINT uq_attribute_definitions_uuid UNIQUE (uuid)
);
CREATE TABLE "transcripts" (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	uuid VARCHAR(36) NOT NULL, 
	participant_id INTEGER NOT NULL, 
	timepoint_id INTEGER NOT NULL, 
	title VARCHAR(500) NOT NULL, 
	source_name VARCHAR(500) NOT NULL, 
	source_format VARCHAR(20) NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	text TEXT NOT NULL, 
	word_count INTEGER NOT NULL, 
	imported_by VARCHAR(200) NOT NULL, 
	imported_at DATETIME NOT NULL, 
	CONSTRAINT fk_transcripts_participant_id_participants FOREIGN KEY(participant_id) REFERENCES participants (id), 
	CONSTRAINT fk_transcripts_timepoint_id_timepoints FOREIGN KEY(timepoint_id) REFERENCES timepoints (id), 
	CONSTRAINT participant_timepoint UNIQUE (participant_id, timepoint_id), 
	CONSTRAINT uq_transcripts_uuid UNIQUE (uuid)
);
CREATE INDEX ix_transcripts_participant_id ON transcripts (participant_id);
CREATE INDEX ix_transcripts_sha256 ON transcripts (sha256);
CREATE INDEX ix_transcripts_timepoint_id ON transcripts (timepoint_id);
CREATE TABLE "coders" (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	uuid VARCHAR(36) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT uq_coders_name UNIQUE (name), 
	CONSTRAINT uq_coders_uuid UNIQUE (uuid)
);
CREATE TABLE "codes" (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	uuid VARCHAR(36) NOT NULL, 
	parent_id INTEGER, 
	name VARCHAR(300) NOT NULL, 
	definition TEXT NOT NULL, 
	inclusion TEXT NOT NULL, 
	exclusion TEXT NOT NULL, 
	example TEXT NOT NULL, 
	memo TEXT NOT NULL, 
	colour VARCHAR(7) NOT NULL, 
	position INTEGER NOT NULL, 
	archived BOOLEAN NOT NULL, 
	merged_into_id INTEGER, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT fk_codes_merged_into_id_codes FOREIGN KEY(merged_into_id) REFERENCES codes (id), 
	CONSTRAINT fk_codes_parent_id_codes FOREIGN KEY(parent_id) REFERENCES codes (id), 
	CONSTRAINT uq_codes_uuid UNIQUE (uuid)
);
CREATE INDEX ix_codes_parent_id ON codes (parent_id);
CREATE TABLE "codings" (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	uuid VARCHAR(36) NOT NULL, 
	transcript_id INTEGER NOT NULL, 
	code_id INTEGER NOT NULL, 
	coder_id INTEGER NOT NULL, 
	start INTEGER NOT NULL, 
	"end" INTEGER NOT NULL, 
	memo TEXT NOT NULL, 
	key_quote BOOLEAN NOT NULL, 
	status VARCHAR(12) NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT ck_codings_status CHECK (status IN ('ok','needs_review')), 
	CONSTRAINT ck_codings_span CHECK (start >= 0 AND start < "end"), 
	CONSTRAINT fk_codings_code_id_codes FOREIGN KEY(code_id) REFERENCES codes (id), 
	CONSTRAINT fk_codings_coder_id_coders FOREIGN KEY(coder_id) REFERENCES coders (id), 
	CONSTRAINT fk_codings_transcript_id_transcripts FOREIGN KEY(transcript_id) REFERENCES transcripts (id), 
	CONSTRAINT uq_codings_uuid UNIQUE (uuid)
);
CREATE INDEX ix_codings_coder_id ON codings (coder_id);
CREATE INDEX ix_codings_transcript_start ON codings (transcript_id, start);
CREATE INDEX ix_codings_code_transcript ON codings (code_id, transcript_id, start, "end", coder_id, key_quote);
CREATE TABLE "memos" (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	uuid VARCHAR(36) NOT NULL, 
	target_type VARCHAR(12) NOT NULL, 
	target_id INTEGER, 
	title VARCHAR(300) NOT NULL, 
	text TEXT NOT NULL, 
	author VARCHAR(200) NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT ck_memos_target_type CHECK (target_type IN ('project','transcript','participant','code','coding')), 
	CONSTRAINT uq_memos_uuid UNIQUE (uuid)
);
CREATE INDEX ix_memos_target ON memos (target_type, target_id);
CREATE TABLE "events" (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	uuid VARCHAR(36) NOT NULL, 
	at DATETIME NOT NULL, 
	actor VARCHAR(200) NOT NULL, 
	operation VARCHAR(60) NOT NULL, 
	summary TEXT NOT NULL, 
	detail JSON, 
	changes JSON, 
	undoable BOOLEAN NOT NULL, 
	state VARCHAR(10) NOT NULL, 
	CONSTRAINT ck_events_state CHECK (state IN ('done','undone','discarded')), 
	CONSTRAINT uq_events_uuid UNIQUE (uuid)
);
CREATE INDEX ix_events_operation ON events (operation);
CREATE TABLE "name_candidates" (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	"key" VARCHAR(300) NOT NULL, 
	text VARCHAR(300) NOT NULL, 
	category VARCHAR(12) NOT NULL, 
	source VARCHAR(20) NOT NULL, 
	entry_id INTEGER, 
	status VARCHAR(10) NOT NULL, 
	occurrences INTEGER NOT NULL, 
	transcript_id INTEGER, 
	start INTEGER, 
	"end" INTEGER, 
	context TEXT NOT NULL, 
	decided_by VARCHAR(200), 
	decided_at DATETIME, variant_key VARCHAR(300), 
	CONSTRAINT ck_name_candidates_status CHECK (status IN ('pending','accepted','rejected')), 
	CONSTRAINT fk_name_candidates_entry_id_name_entries FOREIGN KEY(entry_id) REFERENCES name_entries (id), 
	CONSTRAINT fk_name_candidates_transcript_id_transcripts FOREIGN KEY(transcript_id) REFERENCES transcripts (id), 
	CONSTRAINT uq_name_candidates_key UNIQUE ("key")
);
CREATE INDEX ix_events_actor_state ON events (actor, state, id);
CREATE TABLE tombstones (
	uuid VARCHAR(36) NOT NULL, 
	kind VARCHAR(8) NOT NULL, 
	deleted_at DATETIME NOT NULL, 
	CONSTRAINT pk_tombstones PRIMARY KEY (uuid), 
	CONSTRAINT ck_tombstones_kind CHECK (kind IN ('coding','memo'))
);
CREATE TABLE merge_baselines (
	replica VARCHAR(36) NOT NULL, 
	kind VARCHAR(8) NOT NULL, 
	uuid VARCHAR(36) NOT NULL, 
	source TEXT NOT NULL, 
	target TEXT NOT NULL, 
	CONSTRAINT pk_merge_baselines PRIMARY KEY (replica, kind, uuid), 
	CONSTRAINT ck_merge_baselines_kind CHECK (kind IN ('coding','memo'))
);
CREATE UNIQUE INDEX uq_codes_parent_name ON codes (coalesce(parent_id, 0), lower(name));
CREATE TABLE "name_entries" (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	uuid VARCHAR(36) NOT NULL, 
	term VARCHAR(300) NOT NULL, 
	variants JSON NOT NULL, 
	category VARCHAR(12) NOT NULL, 
	replacement VARCHAR(300) NOT NULL, 
	participant_id INTEGER, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT ck_name_entries_category CHECK (category IN ('person','place','organisation','ward','email','phone','postcode','birthdate','other')), 
	CONSTRAINT fk_name_entries_participant_id_participants FOREIGN KEY(participant_id) REFERENCES participants (id), 
	CONSTRAINT uq_name_entries_uuid UNIQUE (uuid)
);
CREATE TABLE measures (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	uuid VARCHAR(36) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	min_value FLOAT, 
	max_value FLOAT, 
	higher_is VARCHAR(6) NOT NULL, 
	norm_mean FLOAT, 
	norm_sd FLOAT, 
	norm_source TEXT NOT NULL, 
	reliability FLOAT, 
	CONSTRAINT ck_measures_higher_is CHECK (higher_is IN ('better','worse')), 
	CONSTRAINT uq_measures_name UNIQUE (name), 
	CONSTRAINT uq_measures_uuid UNIQUE (uuid)
);
CREATE TABLE scores (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	uuid VARCHAR(36) NOT NULL, 
	participant_id INTEGER NOT NULL, 
	timepoint_id INTEGER NOT NULL, 
	measure_id INTEGER NOT NULL, 
	value FLOAT NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT fk_scores_measure_id_measures FOREIGN KEY(measure_id) REFERENCES measures (id), 
	CONSTRAINT fk_scores_participant_id_participants FOREIGN KEY(participant_id) REFERENCES participants (id), 
	CONSTRAINT fk_scores_timepoint_id_timepoints FOREIGN KEY(timepoint_id) REFERENCES timepoints (id), 
	CONSTRAINT uq_scores_participant_timepoint_measure UNIQUE (participant_id, timepoint_id, measure_id), 
	CONSTRAINT uq_scores_uuid UNIQUE (uuid)
);
CREATE INDEX ix_scores_measure_id ON scores (measure_id);
CREATE INDEX ix_scores_participant_id ON scores (participant_id);
CREATE TABLE accounts (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	name VARCHAR(200) NOT NULL, 
	role VARCHAR(6) NOT NULL, 
	password_hash TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT ck_accounts_role CHECK (role IN ('owner','coder','reader')), 
	CONSTRAINT uq_accounts_name UNIQUE (name)
);
CREATE TABLE blind_transcripts (
	transcript_id INTEGER NOT NULL, 
	since DATETIME NOT NULL, 
	"by" VARCHAR(200) NOT NULL, 
	CONSTRAINT pk_blind_transcripts PRIMARY KEY (transcript_id), 
	CONSTRAINT fk_blind_transcripts_transcript_id_transcripts FOREIGN KEY(transcript_id) REFERENCES transcripts (id)
);
INSERT INTO "alembic_version" VALUES('0017_codings_index');
INSERT INTO "sqlite_sequence" VALUES('participants',0);
INSERT INTO "sqlite_sequence" VALUES('attribute_definitions',0);
INSERT INTO "sqlite_sequence" VALUES('transcripts',0);
INSERT INTO "sqlite_sequence" VALUES('coders',0);
INSERT INTO "sqlite_sequence" VALUES('codes',0);
INSERT INTO "sqlite_sequence" VALUES('codings',0);
INSERT INTO "sqlite_sequence" VALUES('memos',0);
INSERT INTO "sqlite_sequence" VALUES('events',0);
INSERT INTO "sqlite_sequence" VALUES('name_candidates',0);
INSERT INTO "sqlite_sequence" VALUES('name_entries',0);
