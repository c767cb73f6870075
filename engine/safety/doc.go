// Package safety is Hearth's defence against prompt injection. It has four
// layers that the agent loop and the channels call through the engine
// interfaces:
//
//   - a Detector that finds known injection techniques in one linear pass
//     over a normalised form of the text (rule families: instruction
//     override, chat-template markers, spoofed Hearth control text,
//     deceptive Unicode, encoded payloads, exfiltration links, shell
//     injection shapes and sensitive paths);
//   - a Policy that maps every rule to an action (block, sanitize, review,
//     warn), with defaults by severity and overrides per rule and per
//     source kind;
//   - wrapping: untrusted content reaches the model only inside a delimited
//     block that names its source and says it is data, with any delimiter
//     inside the content escaped;
//   - taint gating: NeedsApproval decides which tool calls need the owner's
//     consent once a turn has taken in untrusted content.
//
// Guard ties them together and implements engine.ContentGuard and
// engine.OutboundGuard; Guard.Check is the function behind
// `hearth safety check`. Leaked secrets are found by engine/leak.
//
// Pattern matching cannot be complete: the detector lowers the odds that
// an attack works and makes attacks visible, while wrapping and taint
// gating bound what an undetected attack can do. docs/security.md
// describes the design and the measured detection rates.
package safety
