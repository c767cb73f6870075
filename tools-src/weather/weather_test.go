package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/hearthbot/hearth/sandbox/tooltest"
)

// fakeOpenMeteo serves the geocoding and forecast endpoints.
func fakeOpenMeteo(t *testing.T, h *tooltest.Harness) {
	h.Net.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/search" {
			http.NotFound(w, r)
			return
		}
		var results []map[string]any
		switch r.URL.Query().Get("name") {
		case "Paris":
			results = []map[string]any{
				{"name": "Paris", "country": "United States", "admin1": "Texas", "latitude": 33.66, "longitude": -95.56},
				{"name": "Paris", "country": "France", "admin1": "Île-de-France", "latitude": 48.8534, "longitude": 2.3488},
			}
		case "Oslo":
			results = []map[string]any{{"name": "Oslo", "country": "Norway", "admin1": "Oslo", "latitude": 59.9127, "longitude": 10.7461}}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"results": results})
	}), "geocoding-api.open-meteo.com")
	h.Net.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/v1/forecast" || q.Get("timezone") != "auto" || !strings.Contains(q.Get("daily"), "temperature_2m_max") {
			http.Error(w, `{"error":true,"reason":"bad request"}`, 400)
			return
		}
		days := []string{"2026-11-24", "2026-11-25", "2026-11-26"}
		if q.Get("forecast_days") == "1" {
			days = days[:1]
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"timezone": "Europe/Paris",
			"current":  map[string]any{"time": "2026-11-24T10:00", "temperature_2m": 7.4, "apparent_temperature": 4.9, "weather_code": 61, "wind_speed_10m": 14.2, "precipitation": 0.3},
			"daily": map[string]any{
				"time":                          days,
				"weather_code":                  []int{61, 3, 0}[:len(days)],
				"temperature_2m_max":            []float64{9.1, 8, 10.4}[:len(days)],
				"temperature_2m_min":            []float64{4.2, 3, 2.6}[:len(days)],
				"precipitation_sum":             []float64{3.5, 0, 0}[:len(days)],
				"precipitation_probability_max": []int{80, 10, 0}[:len(days)],
			},
		})
	}), "api.open-meteo.com")
}

func TestWeatherInTheSandbox(t *testing.T) {
	h := tooltest.NewToolHarness(t, "tools-src/weather")
	fakeOpenMeteo(t, h)
	m := h.Load()
	if info := m.Info(); info.Sensitive || !info.Untrusted {
		t.Fatalf("a keyless tool is not sensitive, but its output is untrusted: %+v", info)
	}
	res := h.Call(map[string]any{"location": "Paris, France"})
	want := "Paris, Île-de-France, France (timezone Europe/Paris)\n" +
		"Now: 7.4 °C (feels like 4.9 °C), light rain, wind 14 km/h, precipitation 0.3 mm\n" +
		"2026-11-24: 4 to 9 °C, light rain, 3.5 mm (80% chance)\n" +
		"2026-11-25: 3 to 8 °C, overcast (10% chance)\n" +
		"2026-11-26: 3 to 10 °C, clear sky"
	if res.IsError || res.Content != want {
		t.Fatalf("forecast:\n%s\nwant:\n%s", res.Content, want)
	}
	if res := h.Call(map[string]any{"latitude": 59.91, "longitude": 10.75, "days": 1}); res.IsError || !strings.HasPrefix(res.Content, "59.9100, 10.7500") {
		t.Fatalf("coordinates: %+v", res)
	}
	bad := []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"location": "Atlantis"}, `no place called "Atlantis" was found`},
		{map[string]any{}, "give a location name"},
		{map[string]any{"location": "Oslo", "days": 9}, "days must be between 1 and 7"},
		{map[string]any{"latitude": 91, "longitude": 0}, "latitude must be within ±90"},
	}
	for _, b := range bad {
		if res := h.Call(b.args); !res.IsError || !strings.Contains(res.Content, b.want) {
			t.Errorf("%v: %+v, want %q", b.args, res, b.want)
		}
	}
}

func TestCondition(t *testing.T) {
	if condition(95) != "thunderstorm" || condition(42) != "weather code 42" {
		t.Fatal("condition table")
	}
}
