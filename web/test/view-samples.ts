// Written by `cargo test -p sotto-wasm` (crates/sotto-wasm/src/bridge_event.rs):
// one sample of every view and event as the bridge hands them over. Do not edit;
// run `SOTTO_BLESS=1 cargo test -p sotto-wasm` after changing the views.

import type { BridgeEvent, CoreEvent } from "../src/backend";

export const samples: (CoreEvent | BridgeEvent)[] = [
  {
    "type": "invitation_ready",
    "invitation": 1,
    "link": "https://relay.example/invite#i1.sample"
  },
  {
    "type": "address_ready",
    "link": "https://relay.example/contact#a1.sample"
  },
  {
    "type": "joined_existing",
    "chat": 9,
    "existing": 4
  },
  {
    "type": "request_received",
    "request": {
      "id": 5,
      "name": "Carol",
      "bio": null,
      "received_at": 1764990400000
    }
  },
  {
    "type": "address_flooded",
    "waiting": 100
  },
  {
    "type": "join_failed",
    "chat": 9,
    "reason": "This link was already used.",
    "existing": null
  },
  {
    "type": "contact_connected",
    "chat": {
      "id": 3,
      "name": "Bob",
      "bio": "Gardener",
      "state": "connected",
      "verified": true,
      "unread": 2,
      "timer_secs": 300,
      "read_receipts": "off",
      "last_activity": 1764990000250,
      "last_item": {
        "chat": 3,
        "number": 12,
        "direction": "outgoing",
        "seq": 7,
        "sent_at": 1764990000000,
        "at": 1764990000250,
        "status": "delivered",
        "text": "See you at noon",
        "reply_to": 11,
        "quoted": {
          "number": 11,
          "direction": "incoming",
          "text": "Lunch tomorrow?",
          "deleted": false
        },
        "notice": null,
        "edited": true,
        "deleted": false,
        "reactions": [
          {
            "mine": false,
            "emoji": "👍"
          }
        ],
        "expires_at": 1764990300000,
        "file": null,
        "sender": null,
        "mentions_me": false,
        "receipts": null
      },
      "alias": "Bob (work)",
      "pinned": true,
      "archived": false,
      "blocked": false,
      "muted_until": 1765000000000,
      "members": null,
      "block_saving": true,
      "auto_download": "off"
    }
  },
  {
    "type": "connection_failed",
    "chat": {
      "id": 4,
      "name": null,
      "bio": null,
      "state": "joining",
      "verified": false,
      "unread": 0,
      "timer_secs": null,
      "read_receipts": "default",
      "last_activity": 1764990200000,
      "last_item": null,
      "alias": null,
      "pinned": false,
      "archived": true,
      "blocked": false,
      "muted_until": null,
      "members": null,
      "block_saving": false,
      "auto_download": "default"
    }
  },
  {
    "type": "chat_changed",
    "chat": {
      "id": 3,
      "name": "Bob",
      "bio": "Gardener",
      "state": "connected",
      "verified": true,
      "unread": 2,
      "timer_secs": 300,
      "read_receipts": "off",
      "last_activity": 1764990000250,
      "last_item": {
        "chat": 3,
        "number": 12,
        "direction": "outgoing",
        "seq": 7,
        "sent_at": 1764990000000,
        "at": 1764990000250,
        "status": "delivered",
        "text": "See you at noon",
        "reply_to": 11,
        "quoted": {
          "number": 11,
          "direction": "incoming",
          "text": "Lunch tomorrow?",
          "deleted": false
        },
        "notice": null,
        "edited": true,
        "deleted": false,
        "reactions": [
          {
            "mine": false,
            "emoji": "👍"
          }
        ],
        "expires_at": 1764990300000,
        "file": null,
        "sender": null,
        "mentions_me": false,
        "receipts": null
      },
      "alias": "Bob (work)",
      "pinned": true,
      "archived": false,
      "blocked": false,
      "muted_until": 1765000000000,
      "members": null,
      "block_saving": true,
      "auto_download": "off"
    }
  },
  {
    "type": "history_cleared",
    "chat": 3
  },
  {
    "type": "chat_removed",
    "chat": 4
  },
  {
    "type": "item_added",
    "item": {
      "chat": 3,
      "number": 12,
      "direction": "outgoing",
      "seq": 7,
      "sent_at": 1764990000000,
      "at": 1764990000250,
      "status": "delivered",
      "text": "See you at noon",
      "reply_to": 11,
      "quoted": {
        "number": 11,
        "direction": "incoming",
        "text": "Lunch tomorrow?",
        "deleted": false
      },
      "notice": null,
      "edited": true,
      "deleted": false,
      "reactions": [
        {
          "mine": false,
          "emoji": "👍"
        }
      ],
      "expires_at": 1764990300000,
      "file": null,
      "sender": null,
      "mentions_me": false,
      "receipts": null
    },
    "unread": 2
  },
  {
    "type": "item_changed",
    "item": {
      "chat": 3,
      "number": 12,
      "direction": "outgoing",
      "seq": 7,
      "sent_at": 1764990000000,
      "at": 1764990000250,
      "status": "delivered",
      "text": "See you at noon",
      "reply_to": 11,
      "quoted": {
        "number": 11,
        "direction": "incoming",
        "text": "Lunch tomorrow?",
        "deleted": false
      },
      "notice": null,
      "edited": true,
      "deleted": false,
      "reactions": [
        {
          "mine": false,
          "emoji": "👍"
        }
      ],
      "expires_at": 1764990300000,
      "file": null,
      "sender": null,
      "mentions_me": false,
      "receipts": null
    }
  },
  {
    "type": "items_removed",
    "chat": 3,
    "numbers": [
      12,
      13
    ]
  },
  {
    "type": "typing",
    "chat": 3,
    "typing": true
  },
  {
    "type": "group_invitation",
    "invitation": 7,
    "contact": 3,
    "name": "Book club"
  },
  {
    "type": "group_joined",
    "group": 6,
    "name": "Book club"
  },
  {
    "type": "group_commit_ready",
    "group": 6
  },
  {
    "type": "group_join_requested",
    "request": {
      "id": 11,
      "group": 6,
      "member": "5f3a9c0e1b2d4f6a8c0e1b2d4f6a8c0e",
      "name": "Dave",
      "received_at": 1764990500000,
      "approved": false
    }
  },
  {
    "type": "group_join_refused",
    "join": 12,
    "name": "Book club",
    "reason": "declined"
  },
  {
    "type": "file_progress",
    "chat": 3,
    "number": 14,
    "done": 4194304,
    "total": 12582912
  },
  {
    "type": "relay_fault",
    "relay": "sotto+ws://tgAwbPp2cj_ew5XlOps9n9t4seLXojwy_LzS3G0MQJI@127.0.0.1:7000",
    "reason": "a delivery did not open"
  },
  {
    "type": "item_added",
    "item": {
      "chat": 3,
      "number": 20,
      "direction": "notice",
      "seq": 0,
      "sent_at": 1764990100000,
      "at": 1764990100000,
      "status": "read",
      "text": null,
      "reply_to": null,
      "quoted": null,
      "notice": {
        "type": "skipped",
        "first": 4,
        "last": 6
      },
      "edited": false,
      "deleted": false,
      "reactions": [],
      "expires_at": null,
      "file": null,
      "sender": null,
      "mentions_me": false,
      "receipts": null
    },
    "unread": 0
  },
  {
    "type": "item_added",
    "item": {
      "chat": 3,
      "number": 21,
      "direction": "notice",
      "seq": 0,
      "sent_at": 1764990100000,
      "at": 1764990100000,
      "status": "read",
      "text": null,
      "reply_to": null,
      "quoted": null,
      "notice": {
        "type": "out_of_order",
        "seq": 9
      },
      "edited": false,
      "deleted": false,
      "reactions": [],
      "expires_at": null,
      "file": null,
      "sender": null,
      "mentions_me": false,
      "receipts": null
    },
    "unread": 0
  },
  {
    "type": "item_added",
    "item": {
      "chat": 3,
      "number": 22,
      "direction": "notice",
      "seq": 0,
      "sent_at": 1764990100000,
      "at": 1764990100000,
      "status": "read",
      "text": null,
      "reply_to": null,
      "quoted": null,
      "notice": {
        "type": "duplicate",
        "seq": 9
      },
      "edited": false,
      "deleted": false,
      "reactions": [],
      "expires_at": null,
      "file": null,
      "sender": null,
      "mentions_me": false,
      "receipts": null
    },
    "unread": 0
  },
  {
    "type": "item_added",
    "item": {
      "chat": 3,
      "number": 23,
      "direction": "notice",
      "seq": 0,
      "sent_at": 1764990100000,
      "at": 1764990100000,
      "status": "read",
      "text": null,
      "reply_to": null,
      "quoted": null,
      "notice": {
        "type": "broken_chain",
        "seq": 10
      },
      "edited": false,
      "deleted": false,
      "reactions": [],
      "expires_at": null,
      "file": null,
      "sender": null,
      "mentions_me": false,
      "receipts": null
    },
    "unread": 0
  },
  {
    "type": "item_added",
    "item": {
      "chat": 3,
      "number": 24,
      "direction": "notice",
      "seq": 0,
      "sent_at": 1764990100000,
      "at": 1764990100000,
      "status": "read",
      "text": null,
      "reply_to": null,
      "quoted": null,
      "notice": {
        "type": "replayed"
      },
      "edited": false,
      "deleted": false,
      "reactions": [],
      "expires_at": null,
      "file": null,
      "sender": null,
      "mentions_me": false,
      "receipts": null
    },
    "unread": 0
  },
  {
    "type": "item_added",
    "item": {
      "chat": 3,
      "number": 25,
      "direction": "notice",
      "seq": 0,
      "sent_at": 1764990100000,
      "at": 1764990100000,
      "status": "read",
      "text": null,
      "reply_to": null,
      "quoted": null,
      "notice": {
        "type": "unreadable"
      },
      "edited": false,
      "deleted": false,
      "reactions": [],
      "expires_at": null,
      "file": null,
      "sender": null,
      "mentions_me": false,
      "receipts": null
    },
    "unread": 0
  },
  {
    "type": "item_added",
    "item": {
      "chat": 3,
      "number": 26,
      "direction": "notice",
      "seq": 0,
      "sent_at": 1764990100000,
      "at": 1764990100000,
      "status": "read",
      "text": null,
      "reply_to": null,
      "quoted": null,
      "notice": {
        "type": "missing_change"
      },
      "edited": false,
      "deleted": false,
      "reactions": [],
      "expires_at": null,
      "file": null,
      "sender": null,
      "mentions_me": false,
      "receipts": null
    },
    "unread": 0
  },
  {
    "type": "item_added",
    "item": {
      "chat": 3,
      "number": 27,
      "direction": "notice",
      "seq": 0,
      "sent_at": 1764990100000,
      "at": 1764990100000,
      "status": "read",
      "text": null,
      "reply_to": null,
      "quoted": null,
      "notice": {
        "type": "timer_changed",
        "by_me": false,
        "seconds": 3600
      },
      "edited": false,
      "deleted": false,
      "reactions": [],
      "expires_at": null,
      "file": null,
      "sender": null,
      "mentions_me": false,
      "receipts": null
    },
    "unread": 0
  },
  {
    "type": "item_added",
    "item": {
      "chat": 3,
      "number": 28,
      "direction": "notice",
      "seq": 0,
      "sent_at": 1764990100000,
      "at": 1764990100000,
      "status": "read",
      "text": null,
      "reply_to": null,
      "quoted": null,
      "notice": {
        "type": "timer_changed",
        "by_me": true,
        "seconds": null
      },
      "edited": false,
      "deleted": false,
      "reactions": [],
      "expires_at": null,
      "file": null,
      "sender": null,
      "mentions_me": false,
      "receipts": null
    },
    "unread": 0
  },
  {
    "type": "item_added",
    "item": {
      "chat": 3,
      "number": 29,
      "direction": "notice",
      "seq": 0,
      "sent_at": 1764990100000,
      "at": 1764990100000,
      "status": "read",
      "text": null,
      "reply_to": null,
      "quoted": null,
      "notice": {
        "type": "media_privacy_changed",
        "by_me": false,
        "block_saving": true
      },
      "edited": false,
      "deleted": false,
      "reactions": [],
      "expires_at": null,
      "file": null,
      "sender": null,
      "mentions_me": false,
      "receipts": null
    },
    "unread": 0
  },
  {
    "type": "item_added",
    "item": {
      "chat": 3,
      "number": 30,
      "direction": "notice",
      "seq": 0,
      "sent_at": 1764990100000,
      "at": 1764990100000,
      "status": "read",
      "text": null,
      "reply_to": null,
      "quoted": null,
      "notice": {
        "type": "group_deleted",
        "by_me": false
      },
      "edited": false,
      "deleted": false,
      "reactions": [],
      "expires_at": null,
      "file": null,
      "sender": null,
      "mentions_me": false,
      "receipts": null
    },
    "unread": 0
  },
  {
    "type": "item_added",
    "item": {
      "chat": 3,
      "number": 31,
      "direction": "notice",
      "seq": 0,
      "sent_at": 1764990100000,
      "at": 1764990100000,
      "status": "read",
      "text": null,
      "reply_to": null,
      "quoted": null,
      "notice": {
        "type": "group_log_gone"
      },
      "edited": false,
      "deleted": false,
      "reactions": [],
      "expires_at": null,
      "file": null,
      "sender": null,
      "mentions_me": false,
      "receipts": null
    },
    "unread": 0
  },
  {
    "type": "item_added",
    "item": {
      "chat": 3,
      "number": 32,
      "direction": "notice",
      "seq": 0,
      "sent_at": 1764990100000,
      "at": 1764990100000,
      "status": "read",
      "text": null,
      "reply_to": null,
      "quoted": null,
      "notice": {
        "type": "connected"
      },
      "edited": false,
      "deleted": false,
      "reactions": [],
      "expires_at": null,
      "file": null,
      "sender": null,
      "mentions_me": false,
      "receipts": null
    },
    "unread": 0
  },
  {
    "type": "item_added",
    "item": {
      "chat": 3,
      "number": 33,
      "direction": "notice",
      "seq": 0,
      "sent_at": 1764990100000,
      "at": 1764990100000,
      "status": "read",
      "text": null,
      "reply_to": null,
      "quoted": null,
      "notice": {
        "type": "keys_changed"
      },
      "edited": false,
      "deleted": false,
      "reactions": [],
      "expires_at": null,
      "file": null,
      "sender": null,
      "mentions_me": false,
      "receipts": null
    },
    "unread": 0
  },
  {
    "type": "connection",
    "state": "online"
  },
  {
    "type": "connection",
    "state": "offline"
  },
  {
    "type": "storage_failed",
    "message": "the browser's storage refused a write"
  },
  {
    "type": "moved"
  },
  {
    "type": "held",
    "count": 3
  },
  {
    "type": "group_profile_changed",
    "group": 6
  },
];
