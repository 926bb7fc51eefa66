CREATE ROWSTORE TABLE IF NOT EXISTS `events_rowstore` (
    id BIGINT NOT NULL, payload JSON, /* a comment, with a comma */ note TEXT,
    PRIMARY KEY (id), SHARD KEY events_shard (id), KEY (note(20)) USING BTREE
  ) AUTOSTATS_ENABLED=TRUE, SQL_MODE = 'STRICT_ALL_TABLES', COMMENT='rowstore; kept'
