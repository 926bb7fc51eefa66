package singlestore

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/s2segment/s2segment/destination"
)

// Settings are the destination's settings: where the Data API is and which
// table to write. The password never appears in String or in errors.
type Settings struct {
	Host      string `json:"host" label:"Host" validate:"required"`
	Port      string `json:"port" label:"Port"`
	Username  string `json:"username" label:"Username" validate:"required"`
	Password  string `json:"password" label:"Password" validate:"required"`
	DBName    string `json:"dbName" label:"Database Name" validate:"required"`
	TableName string `json:"tableName" label:"Table Name" validate:"required"`
}

// ParseSettings reads settings as Segment sends them (a JSON object with the
// keys of the manifest's authentication fields), fills in the defaults
// (port 443, table segment_data) and validates them. Errors are in
// Segment's words and never include the password.
func ParseSettings(raw []byte) (Settings, error) {
	valid, err := Definition().ParseSettings(raw)
	if err != nil {
		return Settings{}, err
	}
	var s Settings
	if err := json.Unmarshal(valid.JSON, &s); err != nil {
		return Settings{}, fmt.Errorf("reading settings: %w", err)
	}
	if err := s.Validate(); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// Validate checks the settings: required values (with the validator tags),
// a port from 1 to 65535, and table and database names that can be used.
func (s Settings) Validate() error {
	if err := destination.ValidateStruct(s); err != nil {
		return err
	}
	if p, err := strconv.Atoi(s.Port); s.Port != "" && (err != nil || p < 1 || p > 65535) {
		return destination.NewValidationError("/"+SettingPort, fmt.Sprintf("Port must be a port number from 1 to 65535 but it was %q.", s.Port))
	}
	if err := ValidateDatabaseName(s.DBName); err != nil {
		return fmt.Errorf("checking settings: %w", err)
	}
	if err := ValidateTableName(s.TableName); err != nil {
		return fmt.Errorf("checking settings: %w", err)
	}
	return nil
}

// String describes the settings without the password.
func (s Settings) String() string {
	pw := ""
	if s.Password != "" {
		pw = "<redacted>"
	}
	return fmt.Sprintf("host=%s port=%s username=%s password=%s dbName=%s tableName=%s", s.Host, s.Port, s.Username, pw, s.DBName, s.TableName)
}

// GoString is String, so %#v does not print the password either.
func (s Settings) GoString() string { return s.String() }
