// Command weather is a Hearth tool that reports current weather and a
// daily forecast from Open-Meteo, a keyless public forecast API: a place
// name is first resolved with Open-Meteo's geocoding API.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/hearthbot/hearth/sandbox/guest"
)

const description = "Current weather and a daily forecast (1-7 days) for a place name or coordinates, from Open-Meteo."

const schema = `{
  "type": "object",
  "properties": {
    "location": {"type": "string", "description": "A place name, such as \"Oslo\" or \"Paris, France\"."},
    "latitude": {"type": "number", "minimum": -90, "maximum": 90},
    "longitude": {"type": "number", "minimum": -180, "maximum": 180},
    "days": {"type": "integer", "minimum": 1, "maximum": 7, "description": "Days of forecast, default 3."}
  },
  "additionalProperties": false
}`

const (
	geocodingURL = "https://geocoding-api.open-meteo.com/v1/search"
	forecastURL  = "https://api.open-meteo.com/v1/forecast"
)

type params struct {
	Location  string   `json:"location"`
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
	Days      int      `json:"days"`
}

func init() { guest.Register(description, schema, run) }

func main() {}

type place struct {
	Name      string  `json:"name"`
	Country   string  `json:"country"`
	Admin1    string  `json:"admin1"`
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Timezone  string  `json:"timezone"`
}

func run(c *guest.Context, p params) (string, error) {
	days := p.Days
	if days == 0 {
		days = 3
	}
	if days < 1 || days > 7 {
		return "", errors.New("days must be between 1 and 7")
	}
	var pl place
	switch {
	case p.Latitude != nil && p.Longitude != nil:
		if *p.Latitude < -90 || *p.Latitude > 90 || *p.Longitude < -180 || *p.Longitude > 180 {
			return "", errors.New("latitude must be within ±90 and longitude within ±180")
		}
		pl = place{Name: fmt.Sprintf("%.4f, %.4f", *p.Latitude, *p.Longitude), Latitude: *p.Latitude, Longitude: *p.Longitude}
	case strings.TrimSpace(p.Location) != "":
		var err error
		if pl, err = geocode(c, strings.TrimSpace(p.Location)); err != nil {
			return "", err
		}
	default:
		return "", errors.New("give a location name, or both latitude and longitude")
	}
	f, err := forecast(c, pl, days)
	if err != nil {
		return "", err
	}
	return format(pl, f), nil
}

func getJSON(c *guest.Context, u string, out any) error {
	resp, err := c.HTTP(guest.Request{Method: "GET", URL: u, Headers: map[string]string{"Accept": "application/json"}, TimeoutMS: 10000})
	if err != nil {
		return err
	}
	if resp.Status != 200 {
		var e struct {
			Reason string `json:"reason"`
		}
		_ = json.Unmarshal(resp.Body, &e)
		if e.Reason != "" {
			return fmt.Errorf("Open-Meteo answered HTTP %d: %s", resp.Status, e.Reason)
		}
		return fmt.Errorf("Open-Meteo answered HTTP %d", resp.Status)
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return fmt.Errorf("Open-Meteo sent an unexpected answer: %v", err)
	}
	return nil
}

// geocode resolves a place name ("Paris, France" narrows by country).
func geocode(c *guest.Context, name string) (place, error) {
	query, qualifier, _ := strings.Cut(name, ",")
	q := url.Values{"name": {strings.TrimSpace(query)}, "count": {"10"}, "language": {"en"}, "format": {"json"}}
	var res struct {
		Results []place `json:"results"`
	}
	if err := getJSON(c, geocodingURL+"?"+q.Encode(), &res); err != nil {
		return place{}, err
	}
	qualifier = strings.ToLower(strings.TrimSpace(qualifier))
	for _, r := range res.Results {
		if qualifier == "" || strings.ToLower(r.Country) == qualifier || strings.ToLower(r.Admin1) == qualifier {
			return r, nil
		}
	}
	return place{}, fmt.Errorf("no place called %q was found", name)
}

type forecastResult struct {
	Timezone string `json:"timezone"`
	Current  struct {
		Time          string  `json:"time"`
		Temperature   float64 `json:"temperature_2m"`
		Apparent      float64 `json:"apparent_temperature"`
		WeatherCode   int     `json:"weather_code"`
		WindSpeed     float64 `json:"wind_speed_10m"`
		Precipitation float64 `json:"precipitation"`
	} `json:"current"`
	Daily struct {
		Time          []string  `json:"time"`
		WeatherCode   []int     `json:"weather_code"`
		Max           []float64 `json:"temperature_2m_max"`
		Min           []float64 `json:"temperature_2m_min"`
		Precipitation []float64 `json:"precipitation_sum"`
		RainChance    []int     `json:"precipitation_probability_max"`
	} `json:"daily"`
}

func forecast(c *guest.Context, pl place, days int) (forecastResult, error) {
	q := url.Values{
		"latitude":      {strconv.FormatFloat(pl.Latitude, 'f', 4, 64)},
		"longitude":     {strconv.FormatFloat(pl.Longitude, 'f', 4, 64)},
		"current":       {"temperature_2m,apparent_temperature,weather_code,wind_speed_10m,precipitation"},
		"daily":         {"weather_code,temperature_2m_max,temperature_2m_min,precipitation_sum,precipitation_probability_max"},
		"timezone":      {"auto"},
		"forecast_days": {strconv.Itoa(days)},
	}
	var f forecastResult
	err := getJSON(c, forecastURL+"?"+q.Encode(), &f)
	return f, err
}

func format(pl place, f forecastResult) string {
	var b strings.Builder
	where := pl.Name
	if pl.Admin1 != "" && pl.Admin1 != pl.Name {
		where += ", " + pl.Admin1
	}
	if pl.Country != "" {
		where += ", " + pl.Country
	}
	fmt.Fprintf(&b, "%s (timezone %s)\n", where, f.Timezone)
	fmt.Fprintf(&b, "Now: %.1f °C (feels like %.1f °C), %s, wind %.0f km/h", f.Current.Temperature, f.Current.Apparent,
		condition(f.Current.WeatherCode), f.Current.WindSpeed)
	if f.Current.Precipitation > 0 {
		fmt.Fprintf(&b, ", precipitation %.1f mm", f.Current.Precipitation)
	}
	b.WriteString("\n")
	d := f.Daily
	for i := range d.Time {
		if i >= len(d.Max) || i >= len(d.Min) || i >= len(d.WeatherCode) {
			break
		}
		fmt.Fprintf(&b, "%s: %.0f to %.0f °C, %s", d.Time[i], d.Min[i], d.Max[i], condition(d.WeatherCode[i]))
		if i < len(d.Precipitation) && d.Precipitation[i] > 0 {
			fmt.Fprintf(&b, ", %.1f mm", d.Precipitation[i])
		}
		if i < len(d.RainChance) && d.RainChance[i] > 0 {
			fmt.Fprintf(&b, " (%d%% chance)", d.RainChance[i])
		}
		b.WriteString("\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// condition names a WMO weather interpretation code.
func condition(code int) string {
	switch code {
	case 0:
		return "clear sky"
	case 1:
		return "mainly clear"
	case 2:
		return "partly cloudy"
	case 3:
		return "overcast"
	case 45, 48:
		return "fog"
	case 51, 53, 55:
		return "drizzle"
	case 56, 57:
		return "freezing drizzle"
	case 61:
		return "light rain"
	case 63:
		return "rain"
	case 65:
		return "heavy rain"
	case 66, 67:
		return "freezing rain"
	case 71:
		return "light snow"
	case 73:
		return "snow"
	case 75:
		return "heavy snow"
	case 77:
		return "snow grains"
	case 80, 81, 82:
		return "rain showers"
	case 85, 86:
		return "snow showers"
	case 95:
		return "thunderstorm"
	case 96, 99:
		return "thunderstorm with hail"
	}
	return fmt.Sprintf("weather code %d", code)
}
