CREATE TABLE IF NOT EXISTS `segment_dedupe` (
    messageId VARCHAR(255) NOT NULL, timestamp DATETIME(6) NOT NULL, type TEXT NOT NULL,
    event TEXT, name TEXT, properties JSON, userId TEXT, anonymousId TEXT,
    groupId TEXT, traits JSON, context JSON,
    SHARD KEY (messageId), UNIQUE KEY (messageId) USING HASH, SORT KEY (timestamp)
  ) AUTOSTATS_CARDINALITY_MODE=PERIODIC AUTOSTATS_HISTOGRAM_MODE=CREATE SQL_MODE='STRICT_ALL_TABLES';
