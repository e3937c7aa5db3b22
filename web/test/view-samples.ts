// Written by `cargo test -p sotto-wasm` (crates/sotto-wasm/src/bridge_event.rs):
// one sample of every view and event as the bridge hands them over. Do not edit;
// run `SOTTO_BLESS=1 cargo test -p sotto-wasm` after changing the views.

import type { BridgeEvent, CoreEvent } from "../src/backend";

export const samples: (CoreEvent | BridgeEvent)[] = [
  {
    "invitation": 1,
    "link": "https://relay.example/invite#i1.sample",
    "type": "invitation_ready"
  },
  {
    "link": "https://relay.example/contact#a1.sample",
    "type": "address_ready"
  },
  {
    "request": {
      "bio": null,
      "id": 5,
      "name": "Carol",
      "received_at": 1764990400000
    },
    "type": "request_received"
  },
  {
    "chat": {
      "bio": "Gardener",
      "id": 3,
      "last_activity": 1764990000250,
      "last_item": {
        "at": 1764990000250,
        "chat": 3,
        "deleted": false,
        "direction": "outgoing",
        "edited": true,
        "expires_at": 1764990300000,
        "notice": null,
        "number": 12,
        "quoted": {
          "deleted": false,
          "direction": "incoming",
          "number": 11,
          "text": "Lunch tomorrow?"
        },
        "reactions": [
          {
            "emoji": "👍",
            "mine": false
          }
        ],
        "reply_to": 11,
        "sent_at": 1764990000000,
        "seq": 7,
        "status": "delivered",
        "text": "See you at noon"
      },
      "name": "Bob",
      "read_receipts": "off",
      "state": "connected",
      "timer_secs": 300,
      "unread": 2,
      "verified": true
    },
    "type": "contact_connected"
  },
  {
    "chat": {
      "bio": null,
      "id": 4,
      "last_activity": 1764990200000,
      "last_item": null,
      "name": null,
      "read_receipts": "default",
      "state": "joining",
      "timer_secs": null,
      "unread": 0,
      "verified": false
    },
    "type": "connection_failed"
  },
  {
    "chat": {
      "bio": "Gardener",
      "id": 3,
      "last_activity": 1764990000250,
      "last_item": {
        "at": 1764990000250,
        "chat": 3,
        "deleted": false,
        "direction": "outgoing",
        "edited": true,
        "expires_at": 1764990300000,
        "notice": null,
        "number": 12,
        "quoted": {
          "deleted": false,
          "direction": "incoming",
          "number": 11,
          "text": "Lunch tomorrow?"
        },
        "reactions": [
          {
            "emoji": "👍",
            "mine": false
          }
        ],
        "reply_to": 11,
        "sent_at": 1764990000000,
        "seq": 7,
        "status": "delivered",
        "text": "See you at noon"
      },
      "name": "Bob",
      "read_receipts": "off",
      "state": "connected",
      "timer_secs": 300,
      "unread": 2,
      "verified": true
    },
    "type": "chat_changed"
  },
  {
    "chat": 4,
    "type": "chat_removed"
  },
  {
    "item": {
      "at": 1764990000250,
      "chat": 3,
      "deleted": false,
      "direction": "outgoing",
      "edited": true,
      "expires_at": 1764990300000,
      "notice": null,
      "number": 12,
      "quoted": {
        "deleted": false,
        "direction": "incoming",
        "number": 11,
        "text": "Lunch tomorrow?"
      },
      "reactions": [
        {
          "emoji": "👍",
          "mine": false
        }
      ],
      "reply_to": 11,
      "sent_at": 1764990000000,
      "seq": 7,
      "status": "delivered",
      "text": "See you at noon"
    },
    "type": "item_added",
    "unread": 2
  },
  {
    "item": {
      "at": 1764990000250,
      "chat": 3,
      "deleted": false,
      "direction": "outgoing",
      "edited": true,
      "expires_at": 1764990300000,
      "notice": null,
      "number": 12,
      "quoted": {
        "deleted": false,
        "direction": "incoming",
        "number": 11,
        "text": "Lunch tomorrow?"
      },
      "reactions": [
        {
          "emoji": "👍",
          "mine": false
        }
      ],
      "reply_to": 11,
      "sent_at": 1764990000000,
      "seq": 7,
      "status": "delivered",
      "text": "See you at noon"
    },
    "type": "item_changed"
  },
  {
    "chat": 3,
    "numbers": [
      12,
      13
    ],
    "type": "items_removed"
  },
  {
    "chat": 3,
    "type": "typing",
    "typing": true
  },
  {
    "reason": "a delivery did not open",
    "relay": "sotto+ws://tgAwbPp2cj_ew5XlOps9n9t4seLXojwy_LzS3G0MQJI@127.0.0.1:7000",
    "type": "relay_fault"
  },
  {
    "item": {
      "at": 1764990100000,
      "chat": 3,
      "deleted": false,
      "direction": "notice",
      "edited": false,
      "expires_at": null,
      "notice": {
        "first": 4,
        "last": 6,
        "type": "skipped"
      },
      "number": 20,
      "quoted": null,
      "reactions": [],
      "reply_to": null,
      "sent_at": 1764990100000,
      "seq": 0,
      "status": "read",
      "text": null
    },
    "type": "item_added",
    "unread": 0
  },
  {
    "item": {
      "at": 1764990100000,
      "chat": 3,
      "deleted": false,
      "direction": "notice",
      "edited": false,
      "expires_at": null,
      "notice": {
        "seq": 9,
        "type": "out_of_order"
      },
      "number": 21,
      "quoted": null,
      "reactions": [],
      "reply_to": null,
      "sent_at": 1764990100000,
      "seq": 0,
      "status": "read",
      "text": null
    },
    "type": "item_added",
    "unread": 0
  },
  {
    "item": {
      "at": 1764990100000,
      "chat": 3,
      "deleted": false,
      "direction": "notice",
      "edited": false,
      "expires_at": null,
      "notice": {
        "seq": 9,
        "type": "duplicate"
      },
      "number": 22,
      "quoted": null,
      "reactions": [],
      "reply_to": null,
      "sent_at": 1764990100000,
      "seq": 0,
      "status": "read",
      "text": null
    },
    "type": "item_added",
    "unread": 0
  },
  {
    "item": {
      "at": 1764990100000,
      "chat": 3,
      "deleted": false,
      "direction": "notice",
      "edited": false,
      "expires_at": null,
      "notice": {
        "seq": 10,
        "type": "broken_chain"
      },
      "number": 23,
      "quoted": null,
      "reactions": [],
      "reply_to": null,
      "sent_at": 1764990100000,
      "seq": 0,
      "status": "read",
      "text": null
    },
    "type": "item_added",
    "unread": 0
  },
  {
    "item": {
      "at": 1764990100000,
      "chat": 3,
      "deleted": false,
      "direction": "notice",
      "edited": false,
      "expires_at": null,
      "notice": {
        "type": "replayed"
      },
      "number": 24,
      "quoted": null,
      "reactions": [],
      "reply_to": null,
      "sent_at": 1764990100000,
      "seq": 0,
      "status": "read",
      "text": null
    },
    "type": "item_added",
    "unread": 0
  },
  {
    "item": {
      "at": 1764990100000,
      "chat": 3,
      "deleted": false,
      "direction": "notice",
      "edited": false,
      "expires_at": null,
      "notice": {
        "by_me": false,
        "seconds": 3600,
        "type": "timer_changed"
      },
      "number": 25,
      "quoted": null,
      "reactions": [],
      "reply_to": null,
      "sent_at": 1764990100000,
      "seq": 0,
      "status": "read",
      "text": null
    },
    "type": "item_added",
    "unread": 0
  },
  {
    "item": {
      "at": 1764990100000,
      "chat": 3,
      "deleted": false,
      "direction": "notice",
      "edited": false,
      "expires_at": null,
      "notice": {
        "by_me": true,
        "seconds": null,
        "type": "timer_changed"
      },
      "number": 26,
      "quoted": null,
      "reactions": [],
      "reply_to": null,
      "sent_at": 1764990100000,
      "seq": 0,
      "status": "read",
      "text": null
    },
    "type": "item_added",
    "unread": 0
  },
  {
    "item": {
      "at": 1764990100000,
      "chat": 3,
      "deleted": false,
      "direction": "notice",
      "edited": false,
      "expires_at": null,
      "notice": {
        "type": "connected"
      },
      "number": 27,
      "quoted": null,
      "reactions": [],
      "reply_to": null,
      "sent_at": 1764990100000,
      "seq": 0,
      "status": "read",
      "text": null
    },
    "type": "item_added",
    "unread": 0
  },
  {
    "item": {
      "at": 1764990100000,
      "chat": 3,
      "deleted": false,
      "direction": "notice",
      "edited": false,
      "expires_at": null,
      "notice": {
        "type": "keys_changed"
      },
      "number": 28,
      "quoted": null,
      "reactions": [],
      "reply_to": null,
      "sent_at": 1764990100000,
      "seq": 0,
      "status": "read",
      "text": null
    },
    "type": "item_added",
    "unread": 0
  },
  {
    "state": "online",
    "type": "connection"
  },
  {
    "state": "offline",
    "type": "connection"
  },
  {
    "message": "the browser's storage refused a write",
    "type": "storage_failed"
  },
  {
    "type": "moved"
  }
];
