//! What a plain form post just did, carried by its redirect so that the page it lands on says so.
//!
//! Redirect-after-post keeps the browser's back button and reload harmless; the notice travels
//! in the query (`?done=created&id=105`) as a typed value, written and read back here only.

use std::borrow::Cow;

use crate::{
    domain::{GroupId, OpenId},
    web::Urls,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flash {
    Refreshed,
    Created(GroupId),
    Renamed(GroupId),
    /// The group is gone from the list by now: only its id is left to say.
    Deleted(GroupId),
    Moved {
        to: GroupId,
        openid: OpenId,
    },
    /// The tags API: a follower's tags changed (the page looks them up again).
    Tagged {
        openid: OpenId,
        change: TagChange,
    },
}

/// What happened to a follower's tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagChange {
    Added(GroupId),
    Removed(GroupId),
    Replaced { from: GroupId, to: GroupId },
}

impl TagChange {
    fn how(self) -> &'static str {
        match self {
            TagChange::Added(_) => "added",
            TagChange::Removed(_) => "removed",
            TagChange::Replaced { .. } => "replaced",
        }
    }

    /// The tag that now matters: the one added, removed, or replaced by.
    fn tag(self) -> GroupId {
        match self {
            TagChange::Added(t) | TagChange::Removed(t) | TagChange::Replaced { to: t, .. } => t,
        }
    }
}

impl Flash {
    fn name(&self) -> &'static str {
        match self {
            Flash::Refreshed => "refreshed",
            Flash::Created(_) => "created",
            Flash::Renamed(_) => "renamed",
            Flash::Deleted(_) => "deleted",
            Flash::Moved { .. } => "moved",
            Flash::Tagged { .. } => "tagged",
        }
    }

    /// The group the notice is about, and the row to draw attention to.
    pub fn group(&self) -> Option<GroupId> {
        match self {
            Flash::Refreshed | Flash::Tagged { .. } => None,
            Flash::Created(id) | Flash::Renamed(id) | Flash::Deleted(id) => Some(*id),
            Flash::Moved { to, .. } => Some(*to),
        }
    }

    /// The groups page saying this; `view` is the list's own query (filter and sort) to keep.
    pub fn groups_url(&self, urls: &Urls, view: &str) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("done", self.name());
        if let Some(id) = self.group() {
            query.append_pair("id", &id.to_string());
        }
        if let Flash::Moved { openid, .. } | Flash::Tagged { openid, .. } = self {
            query.append_pair("openid", openid.as_str());
        }
        if let Flash::Tagged { change, .. } = self {
            query.append_pair("how", change.how());
            query.append_pair("tag", &change.tag().to_string());
            if let TagChange::Replaced { from, .. } = change {
                query.append_pair("from", &from.to_string());
            }
        }
        let mut url = format!("{}?{}", urls.groups(), query.finish());
        if !view.is_empty() {
            url.push('&');
            url.push_str(view);
        }
        // Back at the row it made or renamed (the others have no row to point at).
        if let Flash::Created(id) | Flash::Renamed(id) = self {
            url.push_str(&format!("#group-{id}"));
        }
        url
    }

    /// The notice a groups page's query carries, if it is one we wrote and still makes sense.
    pub fn from_query(raw: Option<&str>) -> Option<Flash> {
        let pairs: Vec<(Cow<str>, Cow<str>)> =
            form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).collect();
        let get = |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_ref())
        };
        let id = || GroupId::parse(get("id")?).ok();
        Some(match get("done")? {
            "refreshed" => Flash::Refreshed,
            "created" => Flash::Created(id()?),
            "renamed" => Flash::Renamed(id()?),
            "deleted" => Flash::Deleted(id()?),
            "moved" => Flash::Moved {
                to: id()?,
                openid: OpenId::parse(get("openid")?).ok()?,
            },
            "tagged" => {
                let tag = GroupId::parse(get("tag")?).ok()?;
                let change = match get("how")? {
                    "added" => TagChange::Added(tag),
                    "removed" => TagChange::Removed(tag),
                    "replaced" => TagChange::Replaced {
                        from: GroupId::parse(get("from")?).ok()?,
                        to: tag,
                    },
                    _ => return None,
                };
                Flash::Tagged {
                    openid: OpenId::parse(get("openid")?).ok()?,
                    change,
                }
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flash_survives_its_redirect() {
        let urls = Urls::new("/wx");
        let id = GroupId::parse("105").unwrap();
        let openid = OpenId::parse("oABC-123_x").unwrap();
        for flash in [
            Flash::Refreshed,
            Flash::Created(id),
            Flash::Renamed(id),
            Flash::Deleted(id),
            Flash::Moved {
                to: id,
                openid: openid.clone(),
            },
            Flash::Tagged {
                openid: openid.clone(),
                change: TagChange::Added(id),
            },
            Flash::Tagged {
                openid: openid.clone(),
                change: TagChange::Replaced { from: id, to: id },
            },
            Flash::Tagged {
                openid,
                change: TagChange::Removed(id),
            },
        ] {
            let url = flash.groups_url(&urls, "q=VIP&sort=count");
            let query = url.split_once('?').unwrap().1.split('#').next().unwrap();
            assert_eq!(Flash::from_query(Some(query)), Some(flash.clone()), "{url}");
        }
        assert_eq!(
            Flash::Created(id).groups_url(&urls, ""),
            "/wx/groups?done=created&id=105#group-105"
        );
        assert_eq!(Flash::from_query(Some("done=created&id=x")), None);
        assert_eq!(Flash::from_query(Some("done=evil&id=105")), None);
        assert_eq!(Flash::from_query(None), None);
    }
}
