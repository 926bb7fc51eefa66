//go:build tools

// Package deps pins the modules that s2segment's packages are built on, so
// that "go mod tidy" keeps them while the packages that use them are being
// written. It is never compiled into the binary.
package deps

import (
	_ "github.com/dolthub/go-mysql-server"
	_ "github.com/go-playground/validator/v10"
	_ "github.com/go-resty/resty/v2"
	_ "github.com/go-sql-driver/mysql"
	_ "github.com/osteele/liquid"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/tidwall/gjson"
	_ "github.com/tidwall/sjson"
)
