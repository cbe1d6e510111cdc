//! Campaign leases: which node runs a campaign's dialer when several nodes share the store.
//!
//! Every node reads the same running campaigns. Lead claims are atomic, so two nodes would
//! never dial one lead, but both would pace the campaign against its agents and together
//! place twice the calls the agents can take. A lease row per campaign names the one node
//! that runs it; that node renews it every second, and it expires [`Store::lease_campaign`]'s
//! `ttl_ms` after the last renewal, so a crashed node's campaigns move to another node.

use sqlx::Row;

use super::{CampaignId, Store, StoreError};

/// Who runs a campaign after [`Store::lease_campaign`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CampaignLease {
    /// This node, until `until_ms` unless renewed.
    Held { until_ms: i64 },
    /// Another node, whose lease runs until `until_ms`.
    Elsewhere { node: String, until_ms: i64 },
}

impl Store {
    /// Takes or renews this node's lease on a campaign for `ttl_ms`: granted when no node
    /// holds it, this node holds it, or the holder's lease has expired (then the leads the
    /// holder claimed but was not yet dialling are given back to the hopper).
    pub async fn lease_campaign(
        &self,
        campaign: &CampaignId,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<CampaignLease, StoreError> {
        let mut tx = self.pool.begin().await?;
        // A node whose lease lapsed is gone (or cut off from the store and stopping its
        // runner): the leads it claimed but had not started dialling go back to the hopper
        // for whoever takes the campaign over. Leads it was dialling stay until it restarts
        // (`release_claims`): its calls may still be up.
        sqlx::query(
            "UPDATE leads SET status = 'ready', claimed_by = NULL, claimed_at_ms = NULL, \
             updated_at_ms = $3 WHERE campaign_id = $1 AND status = 'claimed' AND claimed_by IN \
             (SELECT node FROM campaign_leases WHERE campaign_id = $1 AND node <> $2 \
              AND expires_at_ms <= $3)",
        )
        .bind(campaign.as_str())
        .bind(&*self.node)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO campaign_leases (campaign_id, node, expires_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (campaign_id) DO UPDATE \
             SET node = excluded.node, expires_at_ms = excluded.expires_at_ms \
             WHERE campaign_leases.node = excluded.node OR campaign_leases.expires_at_ms <= $4",
        )
        .bind(campaign.as_str())
        .bind(&*self.node)
        .bind(now_ms + ttl_ms)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        let row =
            sqlx::query("SELECT node, expires_at_ms FROM campaign_leases WHERE campaign_id = $1")
                .bind(campaign.as_str())
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        let node: String = row.try_get("node")?;
        let until_ms: i64 = row.try_get("expires_at_ms")?;
        Ok(if node == *self.node {
            CampaignLease::Held { until_ms }
        } else {
            CampaignLease::Elsewhere { node, until_ms }
        })
    }

    /// Gives up this node's lease on a campaign (its runner stopped), so another node may
    /// take it at once. A lease held by another node is left alone.
    pub async fn release_campaign_lease(&self, campaign: &CampaignId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM campaign_leases WHERE campaign_id = $1 AND node = $2")
            .bind(campaign.as_str())
            .bind(&*self.node)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
