//! Typed group log commands on a [`RelayConnection`]: create a log, append an
//! entry, read one from a cursor, subscribe and unsubscribe, rotate the write
//! and read keys, delete the log.
//!
//! Each role holds its own id and secret ([`GroupAdmin`], [`GroupWriter`],
//! [`GroupReader`]); none prints them. New entries of a subscribed log arrive
//! as [`Push::GroupEntry`](crate::relay::Push::GroupEntry), the end of a
//! subscription (a rotation or a deletion) as
//! [`Push::GroupEnd`](crate::relay::Push::GroupEnd).

use std::fmt;

use sotto_wire::{
    Command, GroupAdminId, GroupEntry, GroupReadId, GroupWriteId, QueueAuthSecret, Response,
    ServerPassword,
};

use crate::ClientError;
use crate::relay::commands::{expect_ok, refusal};
use crate::relay::queue::random_auth_secret;
use crate::relay::{PendingResponse, RelayConnection};

macro_rules! role {
    ($(#[$doc:meta])* $name:ident, $id:ident, $id_type:ty) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            $id: $id_type,
            auth_key: QueueAuthSecret,
        }

        impl $name {
            /// The role from its id and secret (as handed over end to end).
            pub fn new($id: $id_type, auth_key: QueueAuthSecret) -> $name {
                $name { $id, auth_key }
            }

            /// The log's id for this role.
            pub fn $id(&self) -> $id_type {
                self.$id
            }

            /// The secret that authorizes this role's commands.
            pub fn auth_key(&self) -> &QueueAuthSecret {
                &self.auth_key
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(..)"))
            }
        }
    };
}

role!(
    /// A group log as its admins hold it: the admin id and the secret that
    /// authorizes GKEY and GDEL. `Debug` prints neither.
    GroupAdmin,
    admin_id,
    GroupAdminId
);
role!(
    /// A group log as its writers hold it: the write id and the secret that
    /// authorizes GAPP. `Debug` prints neither.
    GroupWriter,
    write_id,
    GroupWriteId
);
role!(
    /// A group log as its readers hold it: the read id and the secret that
    /// authorizes GREAD, GSUB and GUNSUB. `Debug` prints neither.
    GroupReader,
    read_id,
    GroupReadId
);

/// A log GNEW created: one part per role.
#[derive(Debug, Clone)]
pub struct NewGroupLog {
    /// What the admins keep.
    pub admin: GroupAdmin,
    /// What every member is given to write.
    pub writer: GroupWriter,
    /// What every member is given to read.
    pub reader: GroupReader,
}

/// Where a log stands (GPOS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupPosition {
    /// The sequence number of the oldest entry the log holds (`next` when it
    /// holds none): every one before has expired.
    pub first: u64,
    /// The sequence number the next appended entry will get.
    pub next: u64,
}

/// What GREAD found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupRead {
    /// The entry with the sequence number asked for.
    Entry(GroupEntry),
    /// The log holds no such entry (expired, or not appended yet): where it
    /// stands.
    Position(GroupPosition),
}

impl RelayConnection {
    /// GNEW: creates a group log with fresh random keys; `password` when the
    /// relay requires one.
    pub async fn create_group_log(
        &self,
        password: Option<&ServerPassword>,
    ) -> Result<NewGroupLog, ClientError> {
        let (admin_key, write_key, read_key) = (
            random_auth_secret(),
            random_auth_secret(),
            random_auth_secret(),
        );
        let command = Command::GroupNew {
            admin_auth_key: admin_key.public_key(),
            write_auth_key: write_key.public_key(),
            read_auth_key: read_key.public_key(),
            password: password.cloned(),
        };
        match self.request(&command, Some(&admin_key)).await? {
            Response::GroupIds {
                admin_id,
                write_id,
                read_id,
            } => Ok(NewGroupLog {
                admin: GroupAdmin::new(admin_id, admin_key),
                writer: GroupWriter::new(write_id, write_key),
                reader: GroupReader::new(read_id, read_key),
            }),
            other => Err(refusal(other, "GNEW")),
        }
    }

    /// GAPP: appends `entry`; its sequence number, once it is on disk.
    pub async fn append_group_entry(
        &self,
        writer: &GroupWriter,
        entry: GroupEntry,
    ) -> Result<u64, ClientError> {
        self.submit_group_append(writer, entry).await?.seq().await
    }

    /// GAPP without waiting: await [`PendingSeq::seq`] later.
    pub async fn submit_group_append(
        &self,
        writer: &GroupWriter,
        entry: GroupEntry,
    ) -> Result<PendingSeq, ClientError> {
        let command = Command::GroupAppend {
            write_id: writer.write_id,
            entry,
        };
        Ok(PendingSeq(
            self.submit(&command, Some(&writer.auth_key)).await?,
        ))
    }

    /// GREAD: the entry with sequence number `from`, or where the log stands.
    pub async fn read_group_entry(
        &self,
        reader: &GroupReader,
        from: u64,
    ) -> Result<GroupRead, ClientError> {
        let command = Command::GroupRead {
            read_id: reader.read_id,
            from,
        };
        match self.request(&command, Some(&reader.auth_key)).await? {
            Response::GroupEntry { seq, entry, .. } if seq == from => Ok(GroupRead::Entry(entry)),
            Response::GroupPos { first, next, .. } => {
                Ok(GroupRead::Position(GroupPosition { first, next }))
            }
            other => Err(refusal(other, "GREAD")),
        }
    }

    /// GSUB: entries appended from now on arrive as pushes; where the log
    /// stands (entries before `next` are read with GREAD).
    pub async fn subscribe_group_log(
        &self,
        reader: &GroupReader,
    ) -> Result<GroupPosition, ClientError> {
        let command = Command::GroupSub {
            read_id: reader.read_id,
        };
        match self.request(&command, Some(&reader.auth_key)).await? {
            Response::GroupPos { first, next, .. } => Ok(GroupPosition { first, next }),
            other => Err(refusal(other, "GSUB")),
        }
    }

    /// GUNSUB: no more pushes of this log on this connection.
    pub async fn unsubscribe_group_log(&self, reader: &GroupReader) -> Result<(), ClientError> {
        let command = Command::GroupUnsub {
            read_id: reader.read_id,
        };
        expect_ok(
            self.request(&command, Some(&reader.auth_key)).await?,
            "GUNSUB",
        )
    }

    /// GKEY: replaces the write and read keys with fresh random ones (a member
    /// was removed); every subscription made with the old read key ends. The
    /// new writer and reader, to hand to the remaining members end to end.
    pub async fn rekey_group_log(
        &self,
        admin: &GroupAdmin,
        writer: &GroupWriter,
        reader: &GroupReader,
    ) -> Result<(GroupWriter, GroupReader), ClientError> {
        let (write_key, read_key) = (random_auth_secret(), random_auth_secret());
        let command = Command::GroupKey {
            admin_id: admin.admin_id,
            write_auth_key: write_key.public_key(),
            read_auth_key: read_key.public_key(),
        };
        expect_ok(self.request(&command, Some(&admin.auth_key)).await?, "GKEY")?;
        Ok((
            GroupWriter::new(writer.write_id, write_key),
            GroupReader::new(reader.read_id, read_key),
        ))
    }

    /// GKEY to the given write and read secrets (a group whose members all
    /// derive the new secrets themselves); the ids stay.
    pub async fn rekey_group_log_to(
        &self,
        admin: &GroupAdmin,
        write_key: &QueueAuthSecret,
        read_key: &QueueAuthSecret,
    ) -> Result<(), ClientError> {
        let command = Command::GroupKey {
            admin_id: admin.admin_id,
            write_auth_key: write_key.public_key(),
            read_auth_key: read_key.public_key(),
        };
        expect_ok(self.request(&command, Some(&admin.auth_key)).await?, "GKEY")
    }

    /// GDEL: deletes the log and its entries.
    pub async fn delete_group_log(&self, admin: &GroupAdmin) -> Result<(), ClientError> {
        let command = Command::GroupDel {
            admin_id: admin.admin_id,
        };
        expect_ok(self.request(&command, Some(&admin.auth_key)).await?, "GDEL")
    }
}

/// A submitted GAPP.
#[derive(Debug)]
pub struct PendingSeq(PendingResponse);

impl PendingSeq {
    /// Waits for the entry's sequence number (GSEQ): it is on disk.
    pub async fn seq(self) -> Result<u64, ClientError> {
        match self.0.response().await? {
            Response::GroupSeq { seq, .. } => Ok(seq),
            other => Err(refusal(other, "GAPP")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_print_no_id_or_secret() {
        let reader = GroupReader::new(GroupReadId::from_bytes([7; 24]), random_auth_secret());
        assert_eq!(format!("{reader:?}"), "GroupReader(..)");
        let admin = GroupAdmin::new(GroupAdminId::from_bytes([7; 24]), random_auth_secret());
        assert_eq!(format!("{admin:?}"), "GroupAdmin(..)");
    }
}
