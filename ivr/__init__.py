"""The voice-menu engine (docs/ivr-contract.md); imports `tickets` only.

- `prompts`: every sentence in Chinese and English; `menus`: the menu tree as data;
- `runtime`: `Ivr(hl).step(state, event) -> (state, actions)`; `actions`: the named dynamic steps;
- `phrases`: dates, times, prices and numbers as segments; `catalog`: the cached service catalog;
- `hours`: whether agents answer now; `scenarios`: the call table every transport runs;
- `twilio`: the Twilio Voice adapter (TwiML).
"""
