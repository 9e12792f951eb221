//! The client's tag calls against the simulator: each one's success and the errcodes WeChat's
//! rules give it, and the batch sizes refused before any call.

use wxgroups::domain::{Api, GroupId, GroupName, OpenId};
use wxgroups::simulator::{SimConfig, Simulator, spawn_local};
use wxgroups::wechat::{
    ClientConfig, CreateOutcome, MAX_BLACKLIST_BATCH, MAX_TAG_BATCH, Tagging, WeChatClient,
    WeChatError,
};

const APPID: &str = "wxtags00000000001";
const SECRET: &str = "tags-secret";

struct Setup {
    sim: Simulator,
    client: WeChatClient,
}

async fn setup(config: SimConfig) -> Setup {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sim = Simulator::new(SimConfig {
        appid: APPID.into(),
        secret: SECRET.into(),
        ..config
    });
    let url = spawn_local(&sim).await.expect("the simulator listens");
    let client = WeChatClient::new(ClientConfig::new(url, APPID, SECRET.to_owned()))
        .expect("build the client");
    Setup { sim, client }
}

async fn default_setup() -> Setup {
    setup(SimConfig {
        followers: 200,
        ..SimConfig::default()
    })
    .await
}

fn code<T: std::fmt::Debug>(r: Result<T, WeChatError>) -> i64 {
    match r {
        Err(e) => e.code().unwrap_or_else(|| panic!("not an errcode: {e:?}")),
        Ok(v) => panic!("expected an errcode, got {v:?}"),
    }
}

fn name(s: &str) -> GroupName {
    GroupName::parse_for(Api::Tags, s).expect("a valid tag name")
}

fn tag(id: u32) -> GroupId {
    GroupId::from_upstream(id)
}

impl Setup {
    fn openid(&self, i: u32) -> OpenId {
        OpenId::parse(&self.sim.follower_openid(i)).unwrap()
    }

    async fn create(&self, n: &str) -> GroupId {
        match self
            .client
            .create_settled(Api::Tags, &name(n))
            .await
            .unwrap()
        {
            CreateOutcome::Created { id, .. } => id,
            CreateOutcome::NotCreated { cause } => panic!("not created: {cause}"),
        }
    }
}

/// Another account's follower: well-formed, but not this AppID's (49003).
async fn foreign_openid() -> OpenId {
    let other = Simulator::new(SimConfig {
        appid: "wxsomeoneelse0000".into(),
        followers: 5,
        ..SimConfig::default()
    });
    OpenId::parse(&other.follower_openid(1)).unwrap()
}

#[tokio::test]
async fn the_tag_list_create_rename_and_delete_follow_wechats_rules() {
    let s = default_setup().await;
    let list = s.client.get_list(Api::Tags).await.unwrap();
    assert!(list.iter().any(|t| t.id == tag(2)), "tag 2 is listed");
    assert_eq!(
        s.sim.calls("/cgi-bin/groups/get"),
        0,
        "tags/get, not groups/get"
    );

    let id = s.create("广东").await;
    assert!(id.get() >= 100);
    // 45157: the name is taken.
    assert_eq!(
        code(s.client.create_settled(Api::Tags, &name("广东")).await),
        45157
    );
    // 45158: more than 30 bytes (a name our own parse would refuse, so it is built for groups).
    let long = GroupName::parse(&"测".repeat(11)).unwrap();
    assert_eq!(code(s.client.create_settled(Api::Tags, &long).await), 45158);

    s.client
        .rename(Api::Tags, id, &name("广东人"))
        .await
        .unwrap();
    assert_eq!(
        code(s.client.rename(Api::Tags, tag(2), &name("x")).await),
        45058
    );
    assert_eq!(
        code(s.client.rename(Api::Tags, tag(999), &name("x")).await),
        45159
    );
    let other = s.create("福建").await;
    assert_eq!(
        code(s.client.rename(Api::Tags, other, &name("广东人")).await),
        45157
    );

    assert_eq!(code(s.client.delete(Api::Tags, tag(2)).await), 45058);
    assert_eq!(code(s.client.delete(Api::Tags, tag(999)).await), 45159);
    s.client.delete(Api::Tags, id).await.unwrap();
    assert!(
        !s.client
            .get_list(Api::Tags)
            .await
            .unwrap()
            .iter()
            .any(|t| t.id == id)
    );
}

#[tokio::test]
async fn the_101st_tag_is_45056_and_a_tag_above_100000_followers_is_not_deleted_45057() {
    let s = setup(SimConfig {
        followers: 100_001,
        ..SimConfig::default()
    })
    .await;
    while s.sim.tag_count() < 100 {
        s.sim.create_tag(&format!("t{}", s.sim.tag_count()));
    }
    assert_eq!(
        code(s.client.create_settled(Api::Tags, &name("one more")).await),
        45056
    );
    let big = s
        .client
        .get_list(Api::Tags)
        .await
        .unwrap()
        .last()
        .unwrap()
        .id;
    s.sim.tag_range(big.get(), 0..100_001);
    assert_eq!(code(s.client.delete(Api::Tags, big).await), 45057);
}

#[tokio::test]
async fn tagging_and_a_followers_tags() {
    let s = default_setup().await;
    let t = s.create("活动").await;
    let people: Vec<OpenId> = (0..MAX_TAG_BATCH as u32).map(|i| s.openid(i)).collect();
    s.client.tag_users(Tagging::Tag, &people, t).await.unwrap();
    assert!(s.client.tags_of(&people[7]).await.unwrap().contains(&t));
    s.client
        .tag_users(Tagging::Untag, &people[..10], t)
        .await
        .unwrap();
    assert!(!s.client.tags_of(&people[7]).await.unwrap().contains(&t));
    assert!(s.client.tags_of(&people[30]).await.unwrap().contains(&t));

    // 51, or none: refused here, nothing sent.
    let calls = s.sim.total_calls();
    let too_many: Vec<OpenId> = (0..51).map(|i| s.openid(i)).collect();
    assert!(matches!(
        s.client.tag_users(Tagging::Tag, &too_many, t).await,
        Err(WeChatError::Local(_))
    ));
    assert!(matches!(
        s.client.tag_users(Tagging::Tag, &[], t).await,
        Err(WeChatError::Local(_))
    ));
    assert_eq!(s.sim.total_calls(), calls);

    let unknown = OpenId::parse("oUnknownFollower00000000000").unwrap();
    assert_eq!(
        code(
            s.client
                .tag_users(Tagging::Tag, std::slice::from_ref(&unknown), t)
                .await
        ),
        40003
    );
    assert_eq!(code(s.client.tags_of(&unknown).await), 40003);
    let foreign = foreign_openid().await;
    assert_eq!(
        code(
            s.client
                .tag_users(Tagging::Tag, std::slice::from_ref(&foreign), t)
                .await
        ),
        49003
    );
    assert_eq!(code(s.client.tags_of(&foreign).await), 49003);
    assert_eq!(
        code(
            s.client
                .tag_users(Tagging::Tag, &people[..1], tag(999))
                .await
        ),
        45159
    );
    assert_eq!(
        code(s.client.tag_users(Tagging::Tag, &people[..1], tag(1)).await),
        45058
    );
}

#[tokio::test]
async fn a_follower_with_20_tags_gets_45059() {
    let s = default_setup().await;
    let one = s.openid(3);
    while s.client.tags_of(&one).await.unwrap().len() < 20 {
        let t = s.create(&format!("满{}", s.sim.tag_count())).await;
        s.client
            .tag_users(Tagging::Tag, std::slice::from_ref(&one), t)
            .await
            .unwrap();
    }
    let extra = s.create("第二十一").await;
    assert_eq!(
        code(s.client.tag_users(Tagging::Tag, &[one], extra).await),
        45059
    );
}

#[tokio::test]
async fn a_tags_members_come_in_pages_until_next_is_none() {
    let s = setup(SimConfig {
        followers: 25_000,
        ..SimConfig::default()
    })
    .await;
    let t = s.create("大家").await;
    s.sim.tag_range(t.get(), 0..25_000);
    let mut seen = 0;
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = s.client.tag_members(t, after.as_ref()).await.unwrap();
        seen += page.openids.len();
        pages += 1;
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
        assert!(pages < 10, "the paging ends");
    }
    assert_eq!(seen, 25_000);
    assert_eq!(code(s.client.tag_members(tag(999), None).await), 45159);
}

#[tokio::test]
async fn the_blacklist_pages_and_changes_20_at_a_time() {
    let s = default_setup().await;
    let before = s.client.blacklist(None).await.unwrap().total;
    let people: Vec<OpenId> = (100..120)
        .map(|i| s.openid(i))
        .filter(|o| !s.sim.is_blacklisted(o.as_str()))
        .collect();
    assert!(people.len() <= MAX_BLACKLIST_BATCH);
    s.client.blacklist_users(true, &people).await.unwrap();
    let after = s.client.blacklist(None).await.unwrap();
    assert_eq!(after.total, before + people.len() as u64);
    assert!(people.iter().all(|o| after.openids.contains(o)));
    s.client.blacklist_users(false, &people[..5]).await.unwrap();
    assert!(!s.sim.is_blacklisted(people[0].as_str()));

    let calls = s.sim.total_calls();
    let too_many: Vec<OpenId> = (0..21).map(|i| s.openid(i)).collect();
    assert!(matches!(
        s.client.blacklist_users(true, &too_many).await,
        Err(WeChatError::Local(_))
    ));
    assert_eq!(s.sim.total_calls(), calls);
    let unknown = OpenId::parse("oUnknownFollower00000000000").unwrap();
    assert_eq!(
        code(s.client.blacklist_users(true, &[unknown]).await),
        40003
    );
    assert_eq!(
        code(
            s.client
                .blacklist_users(true, &[foreign_openid().await])
                .await
        ),
        49003
    );
}

#[tokio::test]
async fn an_account_without_the_tags_api_answers_48001_and_user_info_carries_tags() {
    let s = setup(SimConfig {
        followers: 50,
        tags_api: false,
        ..SimConfig::default()
    })
    .await;
    assert_eq!(code(s.client.get_list(Api::Tags).await), 48001);
    assert!(s.client.get_list(Api::Groups).await.is_ok());
    let infos = s.client.follower_infos(&[s.openid(1)]).await.unwrap();
    let tags = s.sim.tags_of(s.openid(1).as_str()).unwrap();
    assert_eq!(
        infos[0].tags.iter().map(|t| t.get()).collect::<Vec<_>>(),
        tags,
        "user/info/batchget's tagid_list"
    );
}
