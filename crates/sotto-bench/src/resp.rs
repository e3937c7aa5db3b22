//! The little of RESP2 (the Redis protocol) that the durable-Redis driver
//! speaks: commands as arrays of bulk strings, and replies read from a
//! buffered stream with every length bounded before allocation.

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// Longest bulk string accepted: comfortably above the largest payload.
const MAX_BULK: usize = 1 << 20;
/// Most elements accepted in one array reply.
const MAX_ARRAY: usize = 1 << 16;
/// Longest header line (type byte, length or simple string) accepted.
const MAX_LINE: usize = 4096;

/// One reply from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    Simple(String),
    Error(String),
    Integer(i64),
    /// A bulk string; `None` is the nil reply.
    Bulk(Option<Vec<u8>>),
    /// An array; `None` is the nil array (a blocking pop that timed out).
    Array(Option<Vec<Reply>>),
}

/// Appends `arguments` to `out` as one command.
pub(crate) fn encode(out: &mut Vec<u8>, arguments: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", arguments.len()).as_bytes());
    for argument in arguments {
        out.extend_from_slice(format!("${}\r\n", argument.len()).as_bytes());
        out.extend_from_slice(argument);
        out.extend_from_slice(b"\r\n");
    }
}

/// Reads one reply.
pub(crate) async fn read<R: AsyncBufRead + Unpin>(reader: &mut R) -> Result<Reply> {
    let (kind, line) = header(reader).await?;
    match kind {
        b'+' => Ok(Reply::Simple(line)),
        b'-' => Ok(Reply::Error(line)),
        b':' => Ok(Reply::Integer(
            line.parse().context("malformed integer reply")?,
        )),
        b'$' => {
            let Some(len) = length(&line, MAX_BULK)? else {
                return Ok(Reply::Bulk(None));
            };
            let mut bytes = vec![0; len + 2];
            reader.read_exact(&mut bytes).await?;
            if !bytes.ends_with(b"\r\n") {
                bail!("bulk string not terminated by CRLF");
            }
            bytes.truncate(len);
            Ok(Reply::Bulk(Some(bytes)))
        }
        b'*' => {
            let Some(count) = length(&line, MAX_ARRAY)? else {
                return Ok(Reply::Array(None));
            };
            let mut elements = Vec::with_capacity(count);
            for _ in 0..count {
                elements.push(Box::pin(read(reader)).await?);
            }
            Ok(Reply::Array(Some(elements)))
        }
        other => bail!("unknown reply type {other:#04x}"),
    }
}

/// The type byte and the rest of a header line, without its CRLF.
async fn header<R: AsyncBufRead + Unpin>(reader: &mut R) -> Result<(u8, String)> {
    let mut line = Vec::new();
    let read = (&mut *reader)
        .take(MAX_LINE as u64)
        .read_until(b'\n', &mut line)
        .await?;
    if read == 0 {
        bail!("the server closed the connection");
    }
    let Some(body) = line.strip_suffix(b"\r\n") else {
        bail!("reply line not terminated by CRLF within {MAX_LINE} bytes");
    };
    let (&kind, rest) = body.split_first().context("empty reply line")?;
    let text = String::from_utf8(rest.to_vec()).context("reply line is not UTF-8")?;
    Ok((kind, text))
}

/// A length field: `None` for -1 (nil), else at most `bound`.
fn length(field: &str, bound: usize) -> Result<Option<usize>> {
    if field == "-1" {
        return Ok(None);
    }
    let len: usize = field.parse().context("malformed length")?;
    if len > bound {
        bail!("length {len} over the bound of {bound}");
    }
    Ok(Some(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(bytes: &[u8]) -> Result<Reply> {
        read(&mut tokio::io::BufReader::new(bytes)).await
    }

    #[test]
    fn encodes_a_command_as_bulk_strings() {
        let mut out = Vec::new();
        encode(&mut out, &[b"LPUSH", b"q", b"ab"]);
        assert_eq!(out, b"*3\r\n$5\r\nLPUSH\r\n$1\r\nq\r\n$2\r\nab\r\n");
    }

    #[tokio::test]
    async fn reads_every_reply_type() {
        assert_eq!(parse(b"+OK\r\n").await.unwrap(), Reply::Simple("OK".into()));
        assert_eq!(
            parse(b"-ERR no\r\n").await.unwrap(),
            Reply::Error("ERR no".into())
        );
        assert_eq!(parse(b":42\r\n").await.unwrap(), Reply::Integer(42));
        assert_eq!(parse(b"$-1\r\n").await.unwrap(), Reply::Bulk(None));
        assert_eq!(parse(b"*-1\r\n").await.unwrap(), Reply::Array(None));
        assert_eq!(
            parse(b"*2\r\n$1\r\nq\r\n*1\r\n$3\r\na\r\n\r\n")
                .await
                .unwrap(),
            Reply::Array(Some(vec![
                Reply::Bulk(Some(b"q".to_vec())),
                Reply::Array(Some(vec![Reply::Bulk(Some(b"a\r\n".to_vec()))])),
            ]))
        );
    }

    #[tokio::test]
    async fn refuses_malformed_and_oversized_replies() {
        assert!(parse(b"$3\r\nabcd\r\n").await.is_err());
        assert!(parse(b"$99999999999\r\n").await.is_err());
        assert!(parse(b"*99999999\r\n").await.is_err());
        assert!(parse(b"?x\r\n").await.is_err());
        assert!(parse(b"+OK").await.is_err());
        assert!(parse(b"").await.is_err());
    }
}
