//go:build !lambdacomponents.custom || (lambdacomponents.custom && (lambdacomponents.all || lambdacomponents.exporter.all || lambdacomponents.exporter.otlp_http || lambdacomponents.exporter.otlphttp))

package main

// Exporter "otlphttp": deprecated alias of "otlp_http". This file holds no
// code: it exists so that the tag lambdacomponents.exporter.otlphttp has a
// file named after it. The factory in exporter_otlp_http.go (selected by
// either tag) registers both type names.
