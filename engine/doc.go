// Package engine holds Hearth's domain types and the interfaces the core
// needs from the outside world: channels (adapters), stores, LLM providers
// and tools. It imports no adapter, store implementation or sandbox; those
// depend on it. The runtime pieces (bus, router, actors, agent loop, access
// gate, tool registry, providers, safety, scheduling) live in sub-packages.
package engine
