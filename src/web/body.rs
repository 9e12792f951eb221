//! A response body sent as a few parts that are already in memory.
//!
//! The groups page is mostly its table's rows, which are rendered once and shared by every view
//! (`groups/rows.rs`). Copying them into each page's buffer was a fifth of a page view's work;
//! sent as their own part, they go from the shared copy to the socket (hyper writes the parts
//! with one vectored write), and only the page around them is rendered per view.

use std::{
    collections::VecDeque,
    convert::Infallible,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

/// The parts, in order; the length is known, so the response has a Content-Length.
#[derive(Debug)]
pub struct Parts {
    parts: VecDeque<Bytes>,
    left: u64,
}

impl Parts {
    pub fn new(parts: impl IntoIterator<Item = Bytes>) -> Parts {
        let parts: VecDeque<Bytes> = parts.into_iter().filter(|p| !p.is_empty()).collect();
        let left = parts.iter().map(|p| p.len() as u64).sum();
        Parts { parts, left }
    }
}

impl Body for Parts {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let next = self.parts.pop_front();
        if let Some(part) = &next {
            self.left -= part.len() as u64;
        }
        Poll::Ready(next.map(|p| Ok(Frame::data(p))))
    }

    fn is_end_stream(&self) -> bool {
        self.parts.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    #[tokio::test]
    async fn the_parts_arrive_in_order_with_their_length_known() {
        let body = Parts::new([
            Bytes::from_static(b"<head>"),
            Bytes::new(),
            Bytes::from_static(b"<rows>"),
            Bytes::from_static(b"</tail>"),
        ]);
        assert_eq!(body.size_hint().exact(), Some(19));
        let all = body.collect().await.unwrap().to_bytes();
        assert_eq!(&all[..], b"<head><rows></tail>");
    }
}
